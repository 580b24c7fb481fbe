"""Batch video queries and cursor pagination over a (rate-limited) requests session."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from .adapter import OPEN_API_BASE
from .exceptions import PaginationError, TikTokAPIError

logger = logging.getLogger(__name__)

QUERY_PATH = "/v2/video/query/"
MAX_IDS_PER_QUERY = 20
# Guards against a server that keeps saying has_more with fresh cursors forever.
DEFAULT_MAX_PAGES = 10_000


__all__ = [
    "PaginationError",
    "TikTokAPIError",
    "VideoQueryResult",
    "api_call",
    "paginate",
    "query_videos",
]


@dataclass(frozen=True)
class VideoQueryResult:
    """Videos found, in the order their ids were given, and the ids the API did not return."""

    videos: tuple[dict[str, Any], ...]
    missing: tuple[str, ...]

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {str(v["id"]): v for v in self.videos}


def query_videos(
    session: requests.Session,
    video_ids: Iterable[str | int],
    fields: Sequence[str] | str,
    *,
    base_url: str = OPEN_API_BASE,
    batch_size: int = MAX_IDS_PER_QUERY,
    timeout: float | None = 30.0,
) -> VideoQueryResult:
    """Query videos by id in batches of at most 20, each id once.

    ``id`` is always requested, since answers are matched to ids by it. Ids the API
    leaves out (deleted, private, not the user's) are listed in ``missing``.
    """
    if not 1 <= batch_size <= MAX_IDS_PER_QUERY:
        raise ValueError(f"batch_size={batch_size!r} must be 1 to {MAX_IDS_PER_QUERY}")
    ids = list(dict.fromkeys(_video_id(i) for i in video_ids))
    names = _field_list(fields)
    if "id" not in names:
        names.insert(0, "id")
    url = _join(base_url, QUERY_PATH)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        response = session.post(
            url,
            params={"fields": ",".join(names)},
            json={"filters": {"video_ids": batch}},
            timeout=timeout,
        )
        data = _data(response)
        videos = data.get("videos")
        if videos is None:
            videos = []
        if not isinstance(videos, list):
            raise TikTokAPIError(
                f"{QUERY_PATH}: data.videos is {type(videos).__name__}, not a list",
                code="bad_response", status_code=response.status_code, response=response,
            )  # fmt: skip
        asked = set(batch)
        for video in videos:
            vid = str(video.get("id")) if isinstance(video, dict) else None
            if vid in asked:
                found[vid] = video
            else:
                logger.debug("ignoring a video the query did not ask for: %r", vid)
    return VideoQueryResult(
        videos=tuple(found[i] for i in ids if i in found),
        missing=tuple(i for i in ids if i not in found),
    )


def paginate(
    session: requests.Session,
    path: str,
    body: Mapping[str, Any] | None = None,
    fields: Sequence[str] | str | None = None,
    *,
    base_url: str = OPEN_API_BASE,
    items: str | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    timeout: float | None = 30.0,
) -> Iterator[Any]:
    """Follow ``cursor`` and ``has_more`` page by page, POSTing ``body`` with the cursor.

    Yields each page's ``data`` object, or with ``items="videos"`` each element of
    ``data["videos"]``. Handles the v2 shape (``cursor``, ``has_more``) and the
    Research API's (``cursor``, ``has_more``, ``search_id``, sent back with the next
    page). Raises :class:`TikTokAPIError` on an error envelope and
    :class:`PaginationError` when the server repeats a cursor or omits one.
    """
    url = _join(base_url, path)
    params = {"fields": ",".join(_field_list(fields))} if fields else None
    request_body = dict(body or {})
    seen: set[tuple[str, str]] = set()
    for page_number in range(1, max_pages + 1):
        response = session.post(url, params=params, json=request_body, timeout=timeout)
        data = _data(response)
        if items is None:
            yield data
        else:
            page_items = data.get(items) or []
            if not isinstance(page_items, list):
                raise TikTokAPIError(
                    f"{path}: data.{items} is {type(page_items).__name__}, not a list",
                    code="bad_response", status_code=response.status_code, response=response,
                )  # fmt: skip
            yield from page_items
        if not data.get("has_more"):
            return
        cursor = data.get("cursor")
        if cursor is None:
            raise PaginationError(f"{path}: page {page_number} says has_more but gives no cursor")
        search_id = data.get("search_id", request_body.get("search_id"))
        key = (repr(cursor), repr(search_id))
        if key in seen or cursor == request_body.get("cursor"):
            raise PaginationError(
                f"{path}: page {page_number} repeats cursor {cursor!r}; stopping rather than "
                "looping forever"
            )
        seen.add(key)
        request_body["cursor"] = cursor
        if search_id is not None:
            request_body["search_id"] = search_id
    raise PaginationError(f"{path}: more than max_pages={max_pages} pages; stopping")


def api_call(
    session: requests.Session,
    path: str,
    body: Mapping[str, Any] | None = None,
    fields: Sequence[str] | str | None = None,
    *,
    base_url: str = OPEN_API_BASE,
    timeout: float | None = 30.0,
) -> dict[str, Any]:
    """POST ``body`` to ``path`` and return the envelope's ``data``; raise on an error envelope."""
    params = {"fields": ",".join(_field_list(fields))} if fields else None
    response = session.post(
        _join(base_url, path), params=params, json=dict(body or {}), timeout=timeout
    )
    return _data(response)


def _data(response: requests.Response) -> dict[str, Any]:
    """The ``data`` object of a v2 envelope whose error code is "ok", or raise."""
    path = _path_of(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise TikTokAPIError(
            f"{path}: HTTP {response.status_code} without a TikTok envelope",
            code=f"http_{response.status_code}", status_code=response.status_code,
            response=response,
        )  # fmt: skip
    code = str(error.get("code", ""))
    log_id = error.get("log_id")
    if code != "ok" or response.status_code >= 400:
        message = error.get("message") or "no message"
        raise TikTokAPIError(
            f"{path}: {code or 'error'} (HTTP {response.status_code}): {message}"
            + (f" [log_id {log_id}]" if log_id else ""),
            code=code or f"http_{response.status_code}",
            log_id=str(log_id) if log_id is not None else None,
            status_code=response.status_code, response=response,
        )  # fmt: skip
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _video_id(value: str | int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"video ids are strings; got {value!r}")
    text = str(value).strip()
    if not text:
        raise ValueError("an empty video id")
    return text


def _field_list(fields: Sequence[str] | str | None) -> list[str]:
    if fields is None:
        return []
    parts = fields.split(",") if isinstance(fields, str) else list(fields)
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _path_of(response: requests.Response) -> str:
    url = response.request.url if response.request is not None else response.url
    return urlsplit(url or "").path or "request"
