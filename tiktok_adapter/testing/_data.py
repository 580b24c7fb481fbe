"""The simulator's world: one user, their videos and comments, and what was done to them."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

USER_FIELDS = (
    "open_id", "union_id", "avatar_url", "avatar_url_100", "avatar_large_url", "display_name",
    "bio_description", "profile_deep_link", "is_verified", "username", "follower_count",
    "following_count", "likes_count", "video_count",
)  # fmt: skip
DEFAULT_USER_FIELDS = ("open_id", "union_id", "avatar_url", "display_name")
VIDEO_FIELDS = (
    "id", "create_time", "cover_image_url", "share_url", "video_description", "duration",
    "height", "width", "title", "embed_html", "embed_link", "like_count", "comment_count",
    "share_count", "view_count",
)  # fmt: skip
DEFAULT_VIDEO_FIELDS = ("id", "create_time", "title", "share_url")
MAX_QUERY_IDS = 20
MAX_LIST_COUNT = 20
MAX_COMMENT_COUNT = 50
MAX_COMMENT_LENGTH = 150

_WORDS = (
    "dance", "recipe", "sunset", "cat", "trip", "tutorial", "vlog", "challenge", "remix",
    "morning", "city", "beach", "coffee", "workout", "prank", "duet",
)  # fmt: skip
_FRIENDLY = (
    "love this!", "so good", "where is this?", "tutorial please", "this made my day",
    "the ending got me", "need the song name", "again!!", "underrated", "first try?",
)  # fmt: skip
# The demo's moderation bot recognises spam by these words; the simulator only stores it.
_SPAM = (
    "FREE followers at bit.ly/{n}", "dm me to earn $500 a day {n}",
    "check my profile for free coins {n}", "crypto giveaway!! link in bio {n}",
)  # fmt: skip


class ApiError(Exception):
    """A request the API refuses: the HTTP status and the envelope's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Comment:
    """One comment; deleted comments stay here, marked, so tests can see what was removed."""

    id: str
    video_id: str
    text: str
    create_time: int
    username: str
    like_count: int = 0
    parent_comment_id: str | None = None
    pinned: bool = False
    deleted: bool = False
    hidden: bool = False
    liked: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "video_id": self.video_id, "text": self.text,
            "create_time": self.create_time, "like_count": self.like_count,
            "username": self.username, "parent_comment_id": self.parent_comment_id,
            "pinned": self.pinned,
        }  # fmt: skip


@dataclass(frozen=True)
class ModerationAction:
    """A comment created, deleted, pinned, hidden or liked (or undone) through the API."""

    action: str
    comment_id: str
    video_id: str
    time: float


@dataclass
class World:
    """The fake account's data, generated from ``seed`` so every run sees the same world."""

    seed: int = 0
    videos_count: int = 60
    now: float = 1_700_000_000.0
    user: dict[str, Any] = field(init=False)
    videos: list[dict[str, Any]] = field(init=False)
    comments: dict[str, Comment] = field(init=False)
    actions: list[ModerationAction] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self._rng = rng
        # Indexes, so that a page costs what is on it, not the size of the world: each
        # video's comments in creation order, and the videos by id. Both are rebuilt
        # when ``comments`` or ``videos`` were changed around them (their sizes differ).
        self._by_video: dict[str, list[Comment]] = {}
        self._indexed = 0
        self._video_ids: dict[str, dict[str, Any]] = {}
        open_id = f"-000{rng.getrandbits(64):016x}"
        self.user = {
            "open_id": open_id, "union_id": f"c9c{rng.getrandbits(64):016x}",
            "avatar_url": "https://p16-sign.tiktokcdn.com/avatar.jpeg",
            "avatar_url_100": "https://p16-sign.tiktokcdn.com/avatar_100.jpeg",
            "avatar_large_url": "https://p16-sign.tiktokcdn.com/avatar_large.jpeg",
            "display_name": "Simulated Creator", "bio_description": "offline test account",
            "profile_deep_link": "https://vm.tiktok.com/simulated/", "is_verified": False,
            "username": "simulated.creator", "follower_count": rng.randrange(1_000, 90_000),
            "following_count": rng.randrange(10, 900), "likes_count": rng.randrange(10**4, 10**6),
            "video_count": self.videos_count,
        }  # fmt: skip
        self.videos, self.comments = [], {}
        created = int(self.now) - 3600
        for _ in range(self.videos_count):
            created -= rng.randrange(3600, 5 * 86400)  # distinct times keep the cursor exact
            self.videos.append(self._video(created))
        self._video_ids = {v["id"]: v for v in self.videos}
        for video in self.videos:
            for _ in range(rng.randrange(0, 13)):
                self.add_comment(video["id"], self._comment_text(), video["create_time"])

    def _video(self, created: int) -> dict[str, Any]:
        rng = self._rng
        vid = str(7_000_000_000_000_000_000 + rng.randrange(10**18))
        title = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} #{rng.randrange(1, 99)}"
        return {
            "id": vid, "create_time": created, "title": title, "video_description": title,
            "cover_image_url": f"https://p16-sign.tiktokcdn.com/cover/{vid}.jpeg",
            "share_url": f"https://www.tiktok.com/@simulated.creator/video/{vid}",
            "duration": rng.randrange(5, 180), "height": 1920, "width": 1080,
            "embed_html": f'<blockquote class="tiktok-embed" data-video-id="{vid}"></blockquote>',
            "embed_link": f"https://www.tiktok.com/embed/v2/{vid}",
            "like_count": rng.randrange(0, 50_000), "comment_count": 0,
            "share_count": rng.randrange(0, 2_000), "view_count": rng.randrange(100, 10**6),
        }  # fmt: skip

    def _comment_text(self) -> str:
        rng = self._rng
        if rng.random() < 0.2:
            return rng.choice(_SPAM).format(n=rng.randrange(100, 999))
        return rng.choice(_FRIENDLY)

    def add_comment(
        self, video_id: str, text: str, after: int, parent: str | None = None
    ) -> Comment:
        rng = self._rng
        comment = Comment(
            id=str(7_300_000_000_000_000_000 + rng.randrange(10**18)),
            video_id=video_id, text=text, create_time=after + rng.randrange(60, 3600),
            username=f"viewer{rng.randrange(1, 10**6)}", like_count=rng.randrange(0, 500),
            parent_comment_id=parent,
        )  # fmt: skip
        self.comments[comment.id] = comment
        if self._indexed == len(self.comments) - 1:
            self._by_video.setdefault(video_id, []).append(comment)
            self._indexed += 1
        return comment

    # -- the API ------------------------------------------------------------------------

    def user_info(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        names = _fields(query, USER_FIELDS, DEFAULT_USER_FIELDS)
        return {"user": {k: self.user[k] for k in names}}

    def video_list(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        names = _fields(query, VIDEO_FIELDS, DEFAULT_VIDEO_FIELDS)
        count = _int(body, "max_count", 10, 1, MAX_LIST_COUNT)
        cursor = _int(body, "cursor", int(now * 1000), 0, None)
        older = [v for v in self.videos if v["create_time"] * 1000 < cursor]
        page = older[:count]
        next_cursor = page[-1]["create_time"] * 1000 if page else cursor
        return {
            "videos": [self._video_json(v, names) for v in page],
            "cursor": next_cursor,
            "has_more": len(older) > len(page),
        }

    def video_query(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        names = _fields(query, VIDEO_FIELDS, DEFAULT_VIDEO_FIELDS)
        filters = body.get("filters")
        ids = filters.get("video_ids") if isinstance(filters, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, "invalid_params", "filters.video_ids must be a list of strings")
        if len(ids) > MAX_QUERY_IDS:
            raise ApiError(
                400, "invalid_params",
                f"filters.video_ids takes at most {MAX_QUERY_IDS} ids, got {len(ids)}",
            )  # fmt: skip
        wanted = set(ids)
        # Unknown ids are left out, not reported, as TikTok does.
        return {"videos": [self._video_json(v, names) for v in self.videos if v["id"] in wanted]}

    def comment_list(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        video = self.find_video(body)
        count = _int(body, "max_count", 20, 1, MAX_COMMENT_COUNT)
        offset = _int(body, "cursor", 0, 0, None)
        live = sorted(self.live_comments(video), key=lambda c: (not c.pinned, -c.create_time))
        page = live[offset : offset + count]
        return {
            "comments": [c.as_json() for c in page],
            "cursor": offset + len(page),
            "has_more": offset + len(page) < len(live),
        }

    def comment_create(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        video = self.find_video(body)
        text = body.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= MAX_COMMENT_LENGTH:
            raise ApiError(
                400, "invalid_params", f"text must be 1 to {MAX_COMMENT_LENGTH} characters"
            )
        parent = body.get("parent_comment_id")
        if parent is not None:
            self.find_comment({"comment_id": parent})
        comment = self.add_comment(video, text, int(now), parent)
        comment.create_time = int(now)
        comment.username, comment.like_count = self.user["username"], 0
        self.act("create", comment, now)
        return {"comment": comment.as_json()}

    def comment_delete(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        comment = self.find_comment(body)
        comment.deleted, comment.pinned = True, False
        self.act("delete", comment, now)
        return {"comment_id": comment.id, "deleted": True}

    def comment_pin(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        comment = self.find_comment(body)
        action = str(body.get("action", "PIN")).upper()
        if action not in ("PIN", "UNPIN"):
            raise ApiError(400, "invalid_params", "action must be PIN or UNPIN")
        if comment.parent_comment_id is not None:
            raise ApiError(400, "invalid_params", "only top-level comments can be pinned")
        if action == "PIN":
            # One pinned comment per video: pinning another replaces it.
            for other in self.live_comments(comment.video_id):
                other.pinned = False
        comment.pinned = action == "PIN"
        self.act(action.lower(), comment, now)
        return {"comment": comment.as_json()}

    # -- helpers ------------------------------------------------------------------------

    def live_comments(self, video_id: str) -> list[Comment]:
        """The video's comments that are not deleted, in the order they were made."""
        return [c for c in self.comments_of(video_id) if not c.deleted]

    def comments_of(self, video_id: str) -> list[Comment]:
        """Every comment of the video, deleted ones too, in the order they were made."""
        if self._indexed != len(self.comments):
            self._by_video = {}
            for comment in self.comments.values():
                self._by_video.setdefault(comment.video_id, []).append(comment)
            self._indexed = len(self.comments)
        return self._by_video.get(video_id, [])

    def video(self, video_id: object) -> dict[str, Any] | None:
        """The video with this id, or None."""
        if len(self._video_ids) != len(self.videos):
            self._video_ids = {v["id"]: v for v in self.videos}
        return self._video_ids.get(video_id) if isinstance(video_id, str) else None

    def _video_json(self, video: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        live = len(self.live_comments(video["id"])) if "comment_count" in names else 0
        return {k: (live if k == "comment_count" else video[k]) for k in names}

    def find_video(self, body: dict[str, Any]) -> str:
        vid = body.get("video_id")
        if self.video(vid) is None:
            raise ApiError(404, "not_found", f"video_id {vid!r} does not exist")
        return str(vid)

    def find_comment(self, body: dict[str, Any]) -> Comment:
        comment = self.comments.get(str(body.get("comment_id")))
        if comment is None or comment.deleted:
            raise ApiError(
                404, "not_found", f"comment_id {body.get('comment_id')!r} does not exist"
            )
        return comment

    def act(self, action: str, comment: Comment, now: float) -> None:
        self.actions.append(ModerationAction(action, comment.id, comment.video_id, now))


def _fields(
    query: Mapping[str, str], known: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    raw = query.get("fields")
    if not raw:
        return default
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ApiError(400, "invalid_params", "unknown fields: " + ", ".join(unknown))
    return names


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int | None) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        limit = f"{low} to {high}" if high is not None else f"{low} or more"
        raise ApiError(400, "invalid_params", f"{name} must be a whole number, {limit}")
    return value
