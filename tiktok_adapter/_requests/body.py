"""Reading a refused response's body without trusting its size or its pace."""

from __future__ import annotations

import logging
import time

import requests

from ..core.refusal import MAX_ERROR_BODY

logger = logging.getLogger(__name__)
# Small reads, so that a compressed body decoded by an older urllib3 (which decodes a
# whole read at once) cannot balloon far past the cap before the size is checked.
_CHUNK = 4096
# However slowly a hostile server trickles a refusal's body, reading it ends by then.
DEFAULT_READ_BUDGET = 10.0


def read_prefix(
    response: requests.Response, cap: int = MAX_ERROR_BODY, budget: float = DEFAULT_READ_BUDGET
) -> bytes | None:
    """The whole body when it is at most ``cap`` bytes, reading no more than that.

    A longer body, one still coming after ``budget`` real seconds, or one that fails
    to read leaves ``response.content`` as the part read (at most ``cap`` bytes), its
    connection closed rather than drained, and returns None.
    """
    if getattr(response, "_content_consumed", False):
        content = response._content
        return content if isinstance(content, bytes) and len(content) <= cap else None
    ends = time.monotonic() + budget
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        while size <= cap and time.monotonic() < ends:
            chunk = response.raw.read(_CHUNK, decode_content=True)
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
            size += len(chunk)
    except Exception as exc:  # a broken or hostile body is not worth an error of its own
        logger.debug("could not read a refused response's body: %s", type(exc).__name__)
    data = b"".join(chunks)
    response._content = data[:cap]
    response._content_consumed = True  # type: ignore[attr-defined]
    if complete:
        return data
    _drop_connection(response)
    return None


def release(response: requests.Response) -> None:
    """Free a refused response's connection before the next attempt, reading at most the cap."""
    read_prefix(response)
    response.close()


def _drop_connection(response: requests.Response) -> None:
    # Draining an unbounded body to reuse the connection is what we refuse to do.
    try:
        response.raw.close()
    except Exception:
        pass
