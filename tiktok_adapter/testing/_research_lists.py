"""The Research API's lists: video fields, a video's comments, a user's liked, pinned, reposted.

Each list pages the way TikTok documents it: comments and reposted videos by index
(``cursor``, at most 100 a page), liked videos by creation time (``cursor`` in UTC
seconds, newest first); pinned videos come in one list. Which videos a user liked or
reposted is a stable function of the username, so every run sees the same lists.
"""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._data import Comment, World
from ._family import invalid, whole

if TYPE_CHECKING:
    from ._research_corpus import Corpus

MAX_PAGE = 100
# TikTok serves only a video's top 1,000 comments.
MAX_COMMENTS = 1000
MAX_PINNED = 3
# Users whose liked, reposted and pinned lists are kept; a crawl of more starts over.
_PICKS_KEPT = 256
REGIONS = ("US", "GB", "DE", "FR", "JP", "BR", "IN", "CA")
VIDEO_FIELDS = (
    "id", "create_time", "username", "region_code", "video_description", "music_id",
    "like_count", "comment_count", "share_count", "view_count", "hashtag_names",
    "is_stem_verified", "favourites_count", "video_duration", "effect_ids", "playlist_id",
    "voice_to_text", "hashtag_info_list", "video_mention_list", "video_label",
)  # fmt: skip
COMMENT_FIELDS = (
    "id", "video_id", "text", "like_count", "reply_count", "parent_comment_id", "create_time",
)  # fmt: skip


def field_names(query: Mapping[str, str], known: Sequence[str]) -> tuple[str, ...]:
    """The ``fields`` a request asked for (every field when it names none)."""
    raw = query.get("fields", "")
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise invalid("unknown fields: " + ", ".join(unknown))
    return names or tuple(known)


def research_video(world: World, video: Mapping[str, Any], names: Sequence[str]) -> Any:
    """One video as the Research API describes it, limited to ``names``."""
    n = _digest(video["id"])
    tags = video["title"].replace("#", "").split()[:2]
    values = {
        "id": int(video["id"]), "create_time": video["create_time"],
        "username": world.user["username"], "region_code": REGIONS[n % len(REGIONS)],
        "video_description": video["video_description"], "music_id": 6_900_000_000 + n % 10**9,
        "like_count": video["like_count"], "comment_count": len(world.live_comments(video["id"])),
        "share_count": video["share_count"], "view_count": video["view_count"],
        "hashtag_names": tags, "is_stem_verified": n % 11 == 0,
        "favourites_count": n % 5000, "video_duration": video["duration"],
        "effect_ids": [str(n % 10**6)] if n % 4 == 0 else [], "playlist_id": 0,
        "voice_to_text": "", "hashtag_info_list": [{"hashtag_name": t} for t in tags],
        "video_mention_list": [], "video_label": {"content": ""},
    }  # fmt: skip
    return {k: values[k] for k in names}


class ResearchLists:
    """Handlers for the Research list endpoints over the world's videos and comments."""

    def __init__(self, world: World, corpus: Corpus | None = None) -> None:
        self.world, self.corpus = world, corpus
        # Each user's picks, hashed once: hashing every video on every page would make a
        # page cost the size of the world.
        self._picks: dict[tuple[str, str, int], list[dict[str, Any]]] = {}

    def comments(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        names = field_names(query, COMMENT_FIELDS)
        video_id = str(body.get("video_id") or "")
        if self.world.video(video_id) is not None:
            live = self.world.live_comments(video_id)
        elif self.corpus is not None and self.corpus.find(video_id) is not None:
            live = self.corpus.comments(video_id)  # a video the query found in the corpus
        else:
            raise invalid(f"video_id {body.get('video_id')!r} is not a public video")
        count = whole(body.get("max_count"), "max_count", 10, 1, MAX_PAGE)
        cursor = whole(body.get("cursor"), "cursor", 0, 0, MAX_COMMENTS)
        ranked = sorted(live, key=lambda c: (-c.like_count, c.id))[:MAX_COMMENTS]
        page = ranked[cursor : cursor + count]
        replies = Counter(c.parent_comment_id for c in live if c.parent_comment_id)
        return {
            "comments": [self._comment(c, replies, names) for c in page],
            "cursor": cursor + len(page),
            "has_more": cursor + len(page) < len(ranked),
        }

    def liked(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        names = field_names(query, VIDEO_FIELDS)
        picked = self._picked(body, "liked", 3)
        count = whole(body.get("max_count"), "max_count", 20, 1, MAX_PAGE)
        cursor = whole(body.get("cursor"), "cursor", int(now), 0, None)
        # Newest first; the cursor is a time: videos created on or before it, found by
        # bisection (the world's videos are newest first, each at a time of its own).
        first = bisect.bisect_left(picked, -cursor, key=lambda v: -v["create_time"])
        page = picked[first : first + count]
        has_more = len(picked) - first > len(page)
        next_cursor = page[-1]["create_time"] - 1 if page else cursor
        return {
            "user_liked_videos": [research_video(self.world, v, names) for v in page],
            "cursor": next_cursor,
            "has_more": has_more,
        }

    def reposted(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        names = field_names(query, VIDEO_FIELDS)
        picked = self._picked(body, "reposted", 5)
        count = whole(body.get("max_count"), "max_count", 20, 1, MAX_PAGE)
        cursor = whole(body.get("cursor"), "cursor", 0, 0, None)
        page = picked[cursor : cursor + count]
        return {
            "user_reposted_videos": [research_video(self.world, v, names) for v in page],
            "cursor": cursor + len(page),
            "has_more": cursor + len(page) < len(picked),
        }

    def pinned(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        names = field_names(query, VIDEO_FIELDS)
        picked = self._picked(body, "pinned", 7)[:MAX_PINNED]
        return {"pinned_videos_list": [research_video(self.world, v, names) for v in picked]}

    def _picked(self, body: Mapping[str, Any], kind: str, one_in: int) -> list[dict[str, Any]]:
        name = body.get("username")
        if not isinstance(name, str) or not name.strip():
            raise invalid("username is required")
        videos = self.world.videos
        key = (kind, name.strip(), len(videos))
        picked = self._picks.get(key)
        if picked is None:
            if len(self._picks) >= _PICKS_KEPT:
                self._picks.clear()
            salt = f"{kind}:{name.strip()}:"
            picked = [v for v in videos if _digest(salt + v["id"]) % one_in == 0]
            self._picks[key] = picked
        return picked

    def _comment(self, c: Comment, replies: Counter[str], names: Sequence[str]) -> Any:
        values = {
            "id": int(c.id), "video_id": int(c.video_id), "text": c.text,
            "like_count": c.like_count, "create_time": c.create_time,
            "reply_count": replies[c.id],
            "parent_comment_id": int(c.parent_comment_id or c.video_id),
        }  # fmt: skip
        return {k: values[k] for k in names}


def _digest(text: str) -> int:
    # A stable number per text, so a user's lists look the same across runs.
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
