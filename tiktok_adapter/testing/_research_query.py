"""The Research API's ``query``: and/or/not lists of conditions on a video's fields.

A condition is ``{"operation": "IN", "field_name": "region_code", "field_values": [...]}``;
``and`` needs every condition, ``or`` at least one, ``not`` none, as TikTok documents it.
A query without conditions selects every video of its dates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._family import invalid

OPERATIONS = ("EQ", "IN", "GT", "GTE", "LT", "LTE")
# Fields that take the ordering operations; the others take EQ and IN.
ORDERED = ("create_date", "video_id", "music_id")
FIELDS = (
    "create_date", "username", "region_code", "video_id", "hashtag_name", "keyword",
    "music_id", "effect_id", "video_length",
)  # fmt: skip
# video_length's values, by duration in seconds: below 15, 15-60, 60-300, 300 and above.
LENGTHS = (("SHORT", 0, 15), ("MID", 15, 60), ("LONG", 60, 300), ("EXTRA_LONG", 300, 10**9))
# One video's searchable values: a field name -> the strings it holds.
Record = Mapping[str, tuple[str, ...]]
Match = Callable[[Record], bool]


def compile_query(query: object) -> Match:
    """A test of one video for this ``query``, or ApiError (invalid_params) if it is malformed."""
    if not isinstance(query, dict):
        raise invalid("query must be an object with and, or or not lists of conditions")
    unknown = set(query) - {"and", "or", "not"}
    if unknown:
        raise invalid("query takes only and, or and not, not " + ", ".join(sorted(unknown)))
    groups: dict[str, list[Match]] = {}
    for key in ("and", "or", "not"):
        conditions = query.get(key, [])
        if not isinstance(conditions, list):
            raise invalid(f"query.{key} must be a list of conditions")
        groups[key] = [_condition(c, key) for c in conditions]
    every, some, none = groups["and"], groups["or"], groups["not"]

    def match(record: Record) -> bool:
        return (
            all(m(record) for m in every)
            and (not some or any(m(record) for m in some))
            and not any(m(record) for m in none)
        )

    return match


def _condition(raw: object, group: str) -> Match:
    if not isinstance(raw, dict):
        raise invalid(f"each condition in query.{group} must be an object")
    operation, name, values = raw.get("operation"), raw.get("field_name"), raw.get("field_values")
    if operation not in OPERATIONS:
        raise invalid(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    if name not in FIELDS:
        raise invalid(f"field_name must be one of {', '.join(FIELDS)}, not {name!r}")
    if not isinstance(values, list) or not values:
        raise invalid(f"field_values of {name} must be a non-empty list")
    wanted = tuple(str(v).strip() for v in values)
    if name == "create_date" and not all(len(v) == 8 and v.isdigit() for v in wanted):
        raise invalid("create_date values must be dates such as '20240131'")
    if name == "video_length" and not set(wanted) <= {n for n, _, _ in LENGTHS}:
        raise invalid("video_length values must be " + ", ".join(n for n, _, _ in LENGTHS))
    if operation in ("EQ", "IN"):
        if operation == "EQ" and len(wanted) != 1:
            raise invalid("EQ takes exactly one field_value")
        folded = {_fold(name, v) for v in wanted}
        return lambda r: any(_fold(name, v) in folded for v in r[name]) if name != "keyword" \
            else any(w in r[name][0] for w in folded)  # fmt: skip
    if name not in ORDERED or len(wanted) != 1:
        raise invalid(f"{operation} takes one value of create_date, video_id or music_id")
    bound = int(wanted[0])
    compare = _ORDER[str(operation)]
    return lambda r: compare(int(r[name][0]), bound)


_ORDER: dict[str, Callable[[int, int], bool]] = {
    "GT": lambda a, b: a > b, "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b, "LTE": lambda a, b: a <= b,
}  # fmt: skip


def _fold(name: str, value: str) -> str:
    # TikTok matches hashtags, usernames and keywords whatever their case; region codes too.
    return value.lower().lstrip("#") if name != "keyword" else value.lower()


def length_of(seconds: int) -> str:
    return next(n for n, low, high in LENGTHS if low <= seconds < high)


def record_of(video: Mapping[str, Any]) -> Record:
    """The searchable values of a video in the Research API's shape (all its fields)."""
    return {
        "create_date": (_date(video["create_time"]),),
        "username": (str(video["username"]),),
        "region_code": (str(video["region_code"]),),
        "video_id": (str(video["id"]),),
        "hashtag_name": tuple(video["hashtag_names"]),
        "keyword": (str(video["video_description"]).lower(),),
        "music_id": (str(video["music_id"]),),
        "effect_id": tuple(video["effect_ids"]),
        "video_length": (length_of(int(video["video_duration"])),),
    }


def _date(stamp: int) -> str:
    import time

    return time.strftime("%Y%m%d", time.gmtime(stamp))
