"""Plausible Content Posting API data: creator info, upload inits and their publish status."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._data import World
from ._family import invalid

PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
SOURCES = ("FILE_UPLOAD", "PULL_FROM_URL")
# How long the simulated upload takes before the post is done, in simulated seconds.
PROCESSING_SECONDS = 30.0


@dataclass(frozen=True)
class Publish:
    """One post started through video/init or inbox/video/init."""

    publish_id: str
    source: str
    inbox: bool
    started: float
    size: int


class Publishing:
    """The Content Posting API for the world's creator; publish ids finish after a while."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.publishes: dict[str, Publish] = {}
        self._ids = itertools.count(1)

    def creator_info(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        user = self.world.user
        return {
            "creator_avatar_url": user["avatar_url"], "creator_username": user["username"],
            "creator_nickname": user["display_name"],
            "privacy_level_options": list(PRIVACY_LEVELS), "comment_disabled": False,
            "duet_disabled": False, "stitch_disabled": True,
            "max_video_post_duration_sec": 600,
        }  # fmt: skip

    def video_init(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        info = body.get("post_info")
        if not isinstance(info, dict) or info.get("privacy_level") not in PRIVACY_LEVELS:
            raise invalid("post_info.privacy_level must be one of " + ", ".join(PRIVACY_LEVELS))
        return self._start(body, now, inbox=False)

    def inbox_init(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        return self._start(body, now, inbox=True)

    def status(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        publish = self.publishes.get(str(body.get("publish_id")))
        if publish is None:
            raise invalid(f"publish_id {body.get('publish_id')!r} does not exist")
        done = now - publish.started >= PROCESSING_SECONDS
        if not done:
            state = (
                "PROCESSING_UPLOAD" if publish.source == "FILE_UPLOAD" else "PROCESSING_DOWNLOAD"
            )
        else:
            state = "SEND_TO_USER_INBOX" if publish.inbox else "PUBLISH_COMPLETE"
        posted = [] if publish.inbox or not done else [publish.publish_id.rsplit(".", 1)[-1]]
        return {
            "status": state, "uploaded_bytes": publish.size if done else 0,
            "publicaly_available_post_id": posted, "fail_reason": "",
        }  # fmt: skip

    def _start(self, body: dict[str, Any], now: float, *, inbox: bool) -> Any:
        source_info = body.get("source_info")
        if not isinstance(source_info, dict) or source_info.get("source") not in SOURCES:
            raise invalid("source_info.source must be one of " + ", ".join(SOURCES))
        source = str(source_info["source"])
        size = source_info.get("video_size", 0)
        if source == "PULL_FROM_URL" and not isinstance(source_info.get("video_url"), str):
            raise invalid("source_info.video_url is required with PULL_FROM_URL")
        serial = 7_400_000_000_000_000_000 + next(self._ids)
        publish_id = f"v_{'inbox' if inbox else 'pub'}_{source.lower()}~v2-1.{serial}"
        self.publishes[publish_id] = Publish(
            publish_id, source, inbox, now, size if isinstance(size, int) else 0
        )
        data = {"publish_id": publish_id}
        if source == "FILE_UPLOAD":
            data["upload_url"] = f"https://open-upload.tiktokapis.com/video/?upload_id={serial}"
        return data
