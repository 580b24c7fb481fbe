"""Plausible Content Posting API data: creator info, upload inits and their publish status."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._data import World
from ._family import Raw, invalid
from ._upload import UPLOAD_HOST, Upload, chunking, put_chunk

PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
SOURCES = ("FILE_UPLOAD", "PULL_FROM_URL")
POST_MODES = ("DIRECT_POST", "MEDIA_UPLOAD")
MAX_PHOTOS = 35
# How long the simulated upload takes before the post is done, in simulated seconds.
PROCESSING_SECONDS = 30.0


@dataclass(frozen=True)
class Publish:
    """One post started through video/init, inbox/video/init or content/init (photos)."""

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
        self.uploads: dict[str, Upload] = {}  # upload_id -> the FILE_UPLOAD it belongs to
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

    def content_init(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        """A photo post: always pulled from URLs, posted directly or sent to the inbox."""
        if body.get("media_type") != "PHOTO":
            raise invalid("media_type must be PHOTO")
        mode = body.get("post_mode")
        if mode not in POST_MODES:
            raise invalid("post_mode must be one of " + ", ".join(POST_MODES))
        info = body.get("post_info")
        if not isinstance(info, dict):
            raise invalid("post_info must be an object")
        if mode == "DIRECT_POST" and info.get("privacy_level") not in PRIVACY_LEVELS:
            raise invalid("post_info.privacy_level must be one of " + ", ".join(PRIVACY_LEVELS))
        source = body.get("source_info")
        images = source.get("photo_images") if isinstance(source, dict) else None
        if (
            not isinstance(source, dict)
            or source.get("source") != "PULL_FROM_URL"
            or not isinstance(images, list)
            or not 1 <= len(images) <= MAX_PHOTOS
            or not all(isinstance(i, str) for i in images)
        ):
            raise invalid(f"source_info needs PULL_FROM_URL and 1 to {MAX_PHOTOS} photo_images")
        cover = source.get("photo_cover_index", 0)
        if not isinstance(cover, int) or not 0 <= cover < len(images):
            raise invalid("source_info.photo_cover_index must index photo_images")
        serial = 7_400_000_000_000_000_000 + next(self._ids)
        publish_id = f"p_{'pub' if mode == 'DIRECT_POST' else 'inbox'}_url~v2.{serial}"
        self.publishes[publish_id] = Publish(
            publish_id, "PULL_FROM_URL", mode != "DIRECT_POST", now, 0
        )
        return {"publish_id": publish_id}

    def status(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        publish = self.publishes.get(str(body.get("publish_id")))
        if publish is None:
            raise invalid(f"publish_id {body.get('publish_id')!r} does not exist")
        started: float | None = publish.started
        upload = self._upload_of(publish.publish_id)
        if upload is not None:  # a FILE_UPLOAD's processing starts when its last byte came
            started = upload.done_at
        done = started is not None and now - started >= PROCESSING_SECONDS
        if not done:
            state = (
                "PROCESSING_UPLOAD" if publish.source == "FILE_UPLOAD" else "PROCESSING_DOWNLOAD"
            )
        else:
            state = "SEND_TO_USER_INBOX" if publish.inbox else "PUBLISH_COMPLETE"
        posted = [] if publish.inbox or not done else [publish.publish_id.rsplit(".", 1)[-1]]
        return {
            "status": state,
            "uploaded_bytes": upload.bytes_received if upload else publish.size if done else 0,
            "publicaly_available_post_id": posted, "fail_reason": "",
        }  # fmt: skip

    def _start(self, body: dict[str, Any], now: float, *, inbox: bool) -> Any:
        source_info = body.get("source_info")
        if not isinstance(source_info, dict) or source_info.get("source") not in SOURCES:
            raise invalid("source_info.source must be one of " + ", ".join(SOURCES))
        source = str(source_info["source"])
        size = source_info.get("video_size", 0)
        if source == "FILE_UPLOAD":
            size, chunk, count = chunking(source_info)
        if source == "PULL_FROM_URL" and not isinstance(source_info.get("video_url"), str):
            raise invalid("source_info.video_url is required with PULL_FROM_URL")
        serial = 7_400_000_000_000_000_000 + next(self._ids)
        publish_id = f"v_{'inbox' if inbox else 'pub'}_{source.lower()}~v2-1.{serial}"
        self.publishes[publish_id] = Publish(
            publish_id, source, inbox, now, size if isinstance(size, int) else 0
        )
        data = {"publish_id": publish_id}
        if source == "FILE_UPLOAD":
            self.uploads[str(serial)] = Upload(publish_id, size, chunk, count)
            data["upload_url"] = f"https://{UPLOAD_HOST}/video/?upload_id={serial}&upload_token=sim"
        return data

    def upload(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Raw:
        """A chunk PUT to the upload host (see _upload.py)."""
        return put_chunk(self.uploads.get(query.get("upload_id", "")), query, now)

    def _upload_of(self, publish_id: str) -> Upload | None:
        serial = publish_id.rsplit(".", 1)[-1]
        upload = self.uploads.get(serial)
        return upload if upload is not None and upload.publish_id == publish_id else None
