"""The Content Posting upload host: the chunk PUTs to the ``upload_url`` a video init returns.

TikTok takes a FILE_UPLOAD video in ``total_chunk_count`` chunks of ``chunk_size`` bytes
(the last one holds the rest), each a PUT with ``Content-Range: bytes first-last/total``
and a video Content-Type. It answers 206 until every byte arrived, then 201; only then
does the post's processing start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ._data import ApiError
from ._family import Raw, invalid

UPLOAD_HOST = "open-upload.tiktokapis.com"
# The path the simulator's core serves the upload host's PUTs under.
UPLOAD_PATH = "/upload/video/"
MIN_CHUNK = 5 * 1024 * 1024
MAX_CHUNK = 64 * 1024 * 1024
MAX_CHUNKS = 1000
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)$")


@dataclass
class Upload:
    """One FILE_UPLOAD: its size and chunking, the chunks received, when the last came."""

    publish_id: str
    size: int
    chunk_size: int
    chunks: int
    received: dict[int, int] = field(default_factory=dict)  # chunk index -> bytes
    done_at: float | None = None

    @property
    def bytes_received(self) -> int:
        return sum(self.received.values())


def chunking(source: Mapping[str, Any]) -> tuple[int, int, int]:
    """video_size, chunk_size and total_chunk_count of a FILE_UPLOAD init, as TikTok checks them."""
    size, chunk, count = (source.get(k) for k in ("video_size", "chunk_size", "total_chunk_count"))
    for name, value in (("video_size", size), ("chunk_size", chunk), ("total_chunk_count", count)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise invalid(f"source_info.{name} must be a positive whole number")
    assert isinstance(size, int) and isinstance(chunk, int) and isinstance(count, int)
    if chunk > size:
        raise invalid("source_info.chunk_size must not exceed video_size")
    if chunk != size and not MIN_CHUNK <= chunk <= MAX_CHUNK:
        raise invalid("source_info.chunk_size must be 5 MB to 64 MB, or the whole video")
    if count != size // chunk or count > MAX_CHUNKS:
        raise invalid(
            f"source_info.total_chunk_count must be video_size // chunk_size ({size // chunk})"
        )
    return size, chunk, count


def upload_target(query: str, headers: Mapping[str, str], body: bytes | str | None) -> str:
    """The core's target for a PUT to the upload host: the Content-Range and Content-Type
    go into the query, with the length of the bytes (the core reads no binary body)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = body.encode() if isinstance(body, str) else (body or b"")
    params = dict(parse_qsl(query, keep_blank_values=True))
    params.update(
        content_range=lowered.get("content-range", ""),
        content_type=lowered.get("content-type", ""),
        received=str(len(raw)),
    )
    return f"{UPLOAD_PATH}?{urlencode(params)}"


def put_chunk(upload: Upload | None, query: Mapping[str, str], now: float) -> Raw:
    """Take one chunk: 206 while bytes are missing, 201 once the video is whole."""
    if upload is None:
        raise ApiError(404, "invalid_params", "upload_id does not name an upload in progress")
    if query.get("content_type", "").split(";")[0].strip() not in VIDEO_TYPES:
        raise invalid("Content-Type must be one of " + ", ".join(VIDEO_TYPES))
    found = _RANGE.match(query.get("content_range", "").strip())
    if found is None:
        raise invalid("Content-Range must be 'bytes first-last/total'")
    first, last, total = (int(g) for g in found.groups())
    index = first // upload.chunk_size
    expected_last = upload.size - 1 if index == upload.chunks - 1 else first + upload.chunk_size - 1
    if (
        total != upload.size
        or first % upload.chunk_size
        or index >= upload.chunks
        or last != expected_last
    ):
        raise ApiError(
            416, "invalid_params",
            f"Content-Range {found.group(0)!r} is not a chunk of this upload "
            f"({upload.chunks} chunks of {upload.chunk_size} bytes, {upload.size} in all)",
        )  # fmt: skip
    if int(query.get("received", "0")) != last - first + 1:
        raise invalid("the body's length does not match its Content-Range")
    upload.received[index] = last - first + 1
    if len(upload.received) == upload.chunks:
        if upload.done_at is None:
            upload.done_at = now
        return Raw(201, {})
    return Raw(206, {})
