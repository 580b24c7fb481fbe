"""Parsing a JSON body that a hostile peer may have written: the one place that does it.

``json.loads`` raises ``RecursionError`` (not a ``ValueError``) on deeply nested input,
such as 50 KB of ``[``; every body the adapter parses for its own purposes (a refusal's
code, the records that came back, a token or account in a request) goes through here.
"""

from __future__ import annotations

import json
from typing import Any


def parse(data: Any, limit: int | None = None, default: Any = None) -> Any:
    """The JSON value of ``data`` (bytes, bytearray or str), or ``default`` when it is
    not JSON, nests too deeply, or is longer than ``limit``."""
    if not isinstance(data, (bytes, bytearray, str)):
        return default
    if limit is not None and len(data) > limit:
        return default
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return default


def parse_object(data: Any, limit: int | None = None) -> dict[str, Any] | None:
    """:func:`parse`, when the value is a JSON object; else None."""
    value = parse(data, limit)
    return value if isinstance(value, dict) else None
