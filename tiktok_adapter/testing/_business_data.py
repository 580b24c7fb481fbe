"""The TikTok API for Business's view of the world: accounts, videos and comment moderation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._data import Comment, World
from ._family import invalid, whole

MAX_COMMENT_PAGE = 30
MAX_VIDEO_PAGE = 20
ACCOUNT_FIELDS = (
    "is_business_account", "username", "display_name", "profile_image", "followers_count",
    "following_count", "total_likes", "videos_count", "bio_description", "is_verified",
    "profile_deep_link",
)  # fmt: skip
DEFAULT_ACCOUNT_FIELDS = ("display_name", "profile_image")
VIDEO_FIELDS = (
    "item_id", "create_time", "thumbnail_url", "share_url", "embed_url", "caption",
    "video_duration", "likes", "comments", "shares", "video_views",
)  # fmt: skip
DEFAULT_VIDEO_FIELDS = ("item_id",)
# The v2 world's field for each Business field of a video.
_VIDEO_SOURCE = {
    "item_id": "id", "create_time": "create_time", "thumbnail_url": "cover_image_url",
    "share_url": "share_url", "embed_url": "embed_link", "caption": "video_description",
    "video_duration": "duration", "likes": "like_count", "comments": "comment_count",
    "shares": "share_count", "video_views": "view_count",
}  # fmt: skip
Params = Mapping[str, str]
Json = dict[str, Any]


class BusinessData:
    """Handlers for /business/...: GETs read the query, POSTs the JSON body.

    Every account id sees the one world; actions land in ``world.actions`` as the
    v2 endpoints' do, so tests read moderation the same way in both families.
    """

    def __init__(self, world: World) -> None:
        self.world = world

    def account(self, query: Params, body: Json, now: float) -> Any:
        _business_id(query)
        user = self.world.user
        values = {
            "is_business_account": True, "username": user["username"],
            "display_name": user["display_name"], "profile_image": user["avatar_url"],
            "followers_count": user["follower_count"], "following_count": user["following_count"],
            "total_likes": user["likes_count"], "videos_count": user["video_count"],
            "bio_description": user["bio_description"], "is_verified": user["is_verified"],
            "profile_deep_link": user["profile_deep_link"],
        }  # fmt: skip
        names = _fields(query, ACCOUNT_FIELDS, DEFAULT_ACCOUNT_FIELDS)
        return {k: values[k] for k in names}

    def videos(self, query: Params, body: Json, now: float) -> Any:
        _business_id(query)
        names = _fields(query, VIDEO_FIELDS, DEFAULT_VIDEO_FIELDS)
        page = {"max_count": whole(query.get("max_count"), "max_count", 20, 1, MAX_VIDEO_PAGE)}
        if query.get("cursor"):
            page["cursor"] = whole(query.get("cursor"), "cursor", 0, 0, None)
        wanted = ",".join(_VIDEO_SOURCE[n] for n in names)
        listed = self.world.video_list({"fields": wanted}, page, now)
        return {
            "videos": [{n: v[_VIDEO_SOURCE[n]] for n in names} for v in listed["videos"]],
            "cursor": listed["cursor"],
            "has_more": listed["has_more"],
        }

    def comments(self, query: Params, body: Json, now: float) -> Any:
        _business_id(query)
        video = self.world.find_video({"video_id": query.get("video_id")})
        top = [c for c in self.world.live_comments(video) if c.parent_comment_id is None]
        return self._page(query, top)

    def replies(self, query: Params, body: Json, now: float) -> Any:
        _business_id(query)
        parent = self.world.find_comment({"comment_id": query.get("comment_id")})
        live = self.world.live_comments(parent.video_id)
        return self._page(query, [c for c in live if c.parent_comment_id == parent.id])

    def create(self, query: Params, body: Json, now: float) -> Any:
        _business_id(body)
        made = self.world.comment_create(query, {**body, "parent_comment_id": None}, now)
        return self._json(self.world.comments[made["comment"]["id"]])

    def reply(self, query: Params, body: Json, now: float) -> Any:
        _business_id(body)
        parent = self.world.find_comment(body)
        create = {"video_id": parent.video_id, "text": body.get("text"),
                  "parent_comment_id": parent.id}  # fmt: skip
        made = self.world.comment_create(query, create, now)
        return self._json(self.world.comments[made["comment"]["id"]])

    def like(self, query: Params, body: Json, now: float) -> Any:
        _business_id(body)
        comment = self.world.find_comment(body)
        action = _action(body, ("LIKE", "UNLIKE"))
        if comment.liked != (action == "LIKE"):
            comment.liked = action == "LIKE"
            comment.like_count += 1 if comment.liked else -1
        self.world.act(action.lower(), comment, now)
        return {}

    def pin(self, query: Params, body: Json, now: float) -> Any:
        _business_id(body)
        _action(body, ("PIN", "UNPIN"))
        self.world.comment_pin(query, body, now)
        return {}

    def hide(self, query: Params, body: Json, now: float) -> Any:
        _business_id(body)
        comment = self.world.find_comment(body)
        action = _action(body, ("HIDE", "UNHIDE"))
        comment.hidden = action == "HIDE"
        self.world.act(action.lower(), comment, now)
        return {}

    def delete(self, query: Params, body: Json, now: float) -> Any:
        _business_id(body)
        self.world.comment_delete(query, body, now)
        return {}

    def _page(self, query: Params, comments: list[Comment]) -> Any:
        status = query.get("status", "ALL").upper()
        if status not in ("ALL", "PUBLIC"):
            raise invalid("status must be PUBLIC or ALL")
        if status == "PUBLIC":
            comments = [c for c in comments if not c.hidden]
        count = whole(query.get("max_count"), "max_count", 20, 1, MAX_COMMENT_PAGE)
        offset = whole(query.get("cursor"), "cursor", 0, 0, None)
        ordered = sorted(comments, key=lambda c: (not c.pinned, -c.create_time))
        page = ordered[offset : offset + count]
        return {
            "comments": [self._json(c) for c in page],
            "cursor": offset + len(page),
            "has_more": offset + len(page) < len(ordered),
        }

    def _json(self, c: Comment) -> Json:
        replies = sum(
            1 for r in self.world.live_comments(c.video_id) if r.parent_comment_id == c.id
        )
        owner = c.username == self.world.user["username"]
        return {
            "comment_id": c.id, "video_id": c.video_id, "unique_identifier": c.username,
            "create_time": c.create_time, "text": c.text, "likes": c.like_count,
            "replies": replies, "owner": owner, "liked": c.liked, "pinned": c.pinned,
            "status": "HIDDEN" if c.hidden else "PUBLIC", "username": c.username,
            "display_name": c.username, "parent_comment_id": c.parent_comment_id,
        }  # fmt: skip


def _business_id(source: Mapping[str, Any]) -> str:
    value = source.get("business_id")
    if value is None or not str(value).strip():
        raise invalid("business_id is required")
    return str(value)


def _action(body: Json, allowed: tuple[str, ...]) -> str:
    action = str(body.get("action", allowed[0])).upper()
    if action not in allowed:
        raise invalid("action must be " + " or ".join(allowed))
    return action


def _fields(query: Params, known: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    raw = query.get("fields")
    if not raw:
        return default
    try:
        names = json.loads(raw)
    except ValueError:
        raise invalid('fields must be a JSON list such as ["display_name"]') from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise invalid('fields must be a JSON list such as ["display_name"]')
    unknown = [n for n in names if n not in known]
    if unknown:
        raise invalid("unknown fields: " + ", ".join(unknown))
    return tuple(dict.fromkeys(names))
