"""A URL path as the server resolves it before choosing where it goes (nginx's location).

A limit keyed by a row's path must count every spelling the server takes for that
path, or ``/v2//video/query/`` draws a 429 from a window that was never counted.
"""

from __future__ import annotations

import re
import string

# An escape, and what one may stand for in a row's path: '/' and the unreserved characters.
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_DECODED = frozenset(string.ascii_letters + string.digits + "-._~/")


def resolve_path(path: str) -> str:
    """``path`` as the server matches it: escapes of '/' and of unreserved characters
    decoded (RFC 3986 2.3), runs of '/' merged, and dot segments removed (5.2.4).

    nginx decodes every escape, merges slashes and resolves dot segments before it picks
    a location: ``/v2//video/%2e/qu%65ry/`` reaches the ``/v2/video/query/`` location.
    Other escapes stay (no row's path holds such a character), and one pass never
    decodes twice (``%252F`` is ``%2F``, not ``/``).
    """
    if "%" in path:
        path = _ESCAPE.sub(_unescape, path)
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    return "/" + "/".join(segments) + ("/" if segments else "")


def _unescape(found: re.Match[str]) -> str:
    char = chr(int(found.group(1), 16))
    return char if char in _DECODED else found.group(0)
