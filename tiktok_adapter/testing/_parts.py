"""What the simulator reads of a request: its body, and whom a per-token or per-account
window counts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl


def token(query: Mapping[str, str], headers: Mapping[str, str], payload: Any = None) -> str:
    # The identity that a per-token window counts, wherever the client put its token:
    # a header, the query, or a form or JSON body (as TikTok reads it).
    found = headers.get("Authorization") or headers.get("Access-Token")
    if not found and isinstance(payload, dict) and isinstance(payload.get("access_token"), str):
        found = payload["access_token"]
    return found or query.get("access_token", "")


def account(query: Mapping[str, str], payload: Any) -> str:
    if query.get("business_id"):
        return query["business_id"]
    if isinstance(payload, dict) and payload.get("business_id") is not None:
        return str(payload["business_id"])
    return ""


def parse_body(body: bytes | str | None, content_type: str) -> Any:
    """The JSON body, or a form's fields as a dict (OAuth posts forms, as TikTok requires)."""
    if not body:
        return None
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
