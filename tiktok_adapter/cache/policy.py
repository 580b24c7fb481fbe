"""What the cache may keep (successful reads), for how long, and what a write makes stale."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..core.credentials import too_large
from ..core.endpoints import Endpoint, EndpointTable, normalize_path
from ..core.jsonbody import parse
from ..exceptions import ConfigurationError

CACHED_METHODS = ("GET", "POST")
_COMMENT = "/comment/"
_VIDEO_ID = "video_id"
_MAX_BODY = 1024 * 1024
_INVALID = object()  # a body that is not JSON (JSON's null parses to None)

Expiry = float | int | timedelta


class CachePolicy:
    """Decisions about one endpoint table; every method is safe to call from any thread."""

    def __init__(self, table: EndpointTable) -> None:
        self.table = table

    def endpoint(self, url: str | None) -> Endpoint | None:
        return self.table.match(urlsplit(url or "").path or "/")

    def is_cacheable(self, method: str | None, url: str | None, body: Any = None) -> bool:
        """A read the table marks read-only, sent with a method the cache handles.

        A body too large (or a stream) to be searched for a token is never cached, so
        that no stored body can hold a token the redaction did not look for.
        """
        row = self.endpoint(url)
        if row is None or not row.read_only or (method or "").upper() not in CACHED_METHODS:
            return False
        return not too_large(body)

    def is_comment_write(self, url: str | None) -> bool:
        row = self.endpoint(url)
        return row is not None and not row.read_only and _COMMENT in row.path

    def is_comment_read(self, url: str | None) -> bool:
        row = self.endpoint(url)
        return row is not None and row.read_only and _COMMENT in row.path

    def keep(self, response: Any) -> bool:
        """requests-cache's ``filter_fn``: only successful reads are stored or served."""
        request = response.request
        if request is None or not self.is_cacheable(request.method, request.url, request.body):
            return False
        return succeeded(response)

    def expiry_patterns(
        self, default: Expiry, per_endpoint: Mapping[str, Expiry] | None
    ) -> dict[re.Pattern[str], Expiry]:
        """``urls_expire_after`` that picks the same row for a URL as the table does."""
        chosen = {normalize_path(path): value for path, value in (per_endpoint or {}).items()}
        reads = {row.path for row in self.table if row.read_only}
        unknown = sorted(set(chosen) - reads)
        if unknown:
            raise ConfigurationError(
                f"expire_per_endpoint: {', '.join(unknown)} is not a read-only endpoint of "
                f"the table; cacheable endpoints are: {', '.join(sorted(reads))}"
            )
        # The table tries the longest path suffix first, so the patterns go longest first.
        ordered = sorted(reads, key=lambda p: (-p.count("/"), p))
        return {_path_pattern(path): chosen.get(path, default) for path in ordered}


def succeeded(response: Any) -> bool:
    """A 200 whose JSON body carries no TikTok error (v2, Business API or v1 envelope)."""
    if response.status_code != 200:
        return False
    data = parse(response.content or b"", default=_INVALID)
    if data is _INVALID:
        return False
    if not isinstance(data, dict):
        return True
    error = data.get("error")
    if error is not None and not (isinstance(error, dict) and error.get("code") == "ok"):
        return False
    if "code" in data and data["code"] not in (0, "0"):
        return False
    inner = data.get("data")
    return not (isinstance(inner, dict) and inner.get("error_code") not in (None, 0, "0"))


def video_id(url: str | None, body: Any) -> str | None:
    """The ``video_id`` a comment call names, in its query or its JSON or form body."""
    for name, value in parse_qsl(urlsplit(url or "").query):
        if name == _VIDEO_ID:
            return value
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes) or len(body) > _MAX_BODY or _VIDEO_ID.encode() not in body:
        return None
    data = parse(body, default=_INVALID)
    if data is _INVALID:
        data = dict(parse_qsl(body.decode("utf-8", "replace")))
    found = data.get(_VIDEO_ID) if isinstance(data, dict) else None
    return str(found) if found is not None else None


def _path_pattern(path: str) -> re.Pattern[str]:
    # Any leading segments (a proxy prefix, "/v2") and optional version segments between
    # the row's own segments, as normalize_path strips them; a segment boundary before it.
    version = r"(?:/(?:open_api/)?v\d+(?:\.\d+)*)*"
    segments = "".join(version + "/" + re.escape(s) for s in path.strip("/").split("/"))
    host = r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(?:/[^?#]*)?"
    return re.compile(host + segments + r"/?(?:[?#]|$)")
