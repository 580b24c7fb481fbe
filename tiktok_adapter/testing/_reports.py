"""The Business API's reports: report/integrated/get/ and the async report/task/ paths.

A report has one row per object (at its ``data_level``) and per value of each other
dimension: the day or hour, and for ``report_type=AUDIENCE`` age, gender or country.
Metrics are stable numbers per row, as strings, as TikTok sends them. ``filtering``
picks objects by id or status, as a JSON object or TikTok's list of
``{field_name, filter_type, filter_value}``.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._family import invalid
from ._marketing import Marketing, filtered, json_list, page_of

MAX_REPORT_DAYS = 30
# How long a report task takes before check says SUCCESS, in simulated seconds.
TASK_SECONDS = 20.0
LEVELS = {  # data_level: the id dimension and the listing it reports on
    "AUCTION_ADVERTISER": ("advertiser_id", "advertiser"),
    "AUCTION_CAMPAIGN": ("campaign_id", "campaign"),
    "AUCTION_ADGROUP": ("adgroup_id", "adgroup"),
    "AUCTION_AD": ("ad_id", "ad"),
}
TIME_DIMENSIONS = ("stat_time_day", "stat_time_hour")
AUDIENCE_VALUES = {
    "age": ("AGE_13_17", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100"),
    "gender": ("MALE", "FEMALE", "NONE"),
    "country_code": ("US", "GB", "DE", "FR"),
    "platform": ("ANDROID", "IPHONE"),
}
REPORT_TYPES = ("BASIC", "AUDIENCE")
VIDEO_METRICS = (
    "video_play_actions", "video_watched_2s", "video_watched_6s", "video_views_p25",
    "video_views_p50", "video_views_p75", "video_views_p100", "average_video_play",
)  # fmt: skip
METRICS = (
    "spend", "impressions", "clicks", "ctr", "cpc", "cpm", "conversion", "reach",
    "frequency", "cost_per_conversion", "conversion_rate", "currency", "campaign_name",
    "adgroup_name", "ad_name", *VIDEO_METRICS,
)  # fmt: skip
# Attribute metrics name an object: allowed from the level that has it downwards.
NAMES = {"campaign_name": "campaign", "adgroup_name": "adgroup", "ad_name": "ad"}
_DEPTH = {"advertiser": 0, "campaign": 1, "adgroup": 2, "ad": 3}
TASK_STATES = ("QUEUING", "PROCESSING", "SUCCESS")
Params = Mapping[str, str]
Json = dict[str, Any]


@dataclass(frozen=True)
class ReportTask:
    task_id: str
    advertiser_id: str
    created: float
    rows: int


class Reports:
    """Handlers for report/integrated/get/ and report/task/{create,check}/."""

    def __init__(self, ads: Marketing) -> None:
        self.ads = ads
        self.tasks: dict[str, ReportTask] = {}
        self._ids = itertools.count(1)

    def report(self, query: Params, body: Json, now: float) -> Any:
        return page_of(query, self._rows(query))

    def task_create(self, query: Params, body: Json, now: float) -> Any:
        # The body's lists and objects, as a GET would carry them, so one validation serves.
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        rows = self._rows(params)
        task_id = str(7_200_000_000_000_000_000 + next(self._ids))
        self.tasks[task_id] = ReportTask(task_id, params["advertiser_id"], now, len(rows))
        return {"task_id": task_id}

    def task_check(self, query: Params, body: Json, now: float) -> Any:
        task = self._task(query)
        elapsed = now - task.created
        state = TASK_STATES[min(int(3 * elapsed / TASK_SECONDS), 2)]
        return {"task_id": task.task_id, "status": state, "message": "",
                "total_rows": task.rows}  # fmt: skip

    def task_download(self, query: Params, body: Json, now: float) -> Any:
        task = self._task(query)
        if now - task.created < TASK_SECONDS:
            raise invalid(f"task {task.task_id} is not finished; check its status first")
        return {"download_url": f"https://ads.tiktok.com/report/download/{task.task_id}.csv"}

    def _task(self, query: Params) -> ReportTask:
        advertiser = str(query.get("advertiser_id") or "").strip()
        if not advertiser:
            raise invalid("advertiser_id is required")
        task = self.tasks.get(str(query.get("task_id") or ""))
        if task is None or task.advertiser_id != advertiser:
            raise invalid(f"task_id {query.get('task_id')!r} does not exist")
        return task

    def _rows(self, query: Params) -> list[Json]:
        objects = self.ads.account(query)
        report_type = query.get("report_type", "BASIC")
        if report_type not in REPORT_TYPES:
            raise invalid("report_type must be one of " + ", ".join(REPORT_TYPES))
        level = query.get("data_level", "AUCTION_CAMPAIGN")
        if level not in LEVELS:
            raise invalid("data_level must be one of " + ", ".join(LEVELS))
        id_name, kind = LEVELS[level]
        dimensions = json_list(query, "dimensions", [id_name])
        audience = [d for d in dimensions if d in AUDIENCE_VALUES]
        times = [d for d in dimensions if d in TIME_DIMENSIONS]
        unknown = set(dimensions) - {id_name, *TIME_DIMENSIONS, *AUDIENCE_VALUES}
        if id_name not in dimensions or unknown or len(times) > 1:
            raise invalid(
                f"dimensions must hold {id_name!r}, at most one of stat_time_day or "
                "stat_time_hour, and for AUDIENCE reports age, gender, country_code or platform"
            )
        if audience and report_type != "AUDIENCE":
            raise invalid(f"{', '.join(audience)} needs report_type AUDIENCE")
        metrics = json_list(query, "metrics", ["spend", "impressions"])
        bad = sorted(set(metrics) - set(METRICS))
        bad += [m for m in metrics if m in NAMES and _DEPTH[NAMES[m]] > _DEPTH[kind]]
        if bad:
            raise invalid(f"metrics not available at {level}: " + ", ".join(bad))
        stamps = self._stamps(query, times[0] if times else None)
        found = [{"advertiser_id": query["advertiser_id"]}]
        if kind != "advertiser":
            found = filtered(list(objects[kind].values()), _filtering(query))
        rows = []
        values = [AUDIENCE_VALUES[d] for d in audience]
        for item, stamp, combo in itertools.product(found, stamps, itertools.product(*values)):
            dims = {id_name: item[id_name], **dict(zip(audience, combo, strict=True))}
            if stamp is not None:
                dims[times[0]] = stamp
            key = ":".join([item[id_name], str(stamp), *combo])
            rows.append({"dimensions": dims, "metrics": _metrics(key, metrics, item, objects)})
        return rows

    def _stamps(self, query: Params, time_dim: str | None) -> list[str | None]:
        if time_dim is None and query.get("query_lifetime") in ("true", "True", "1"):
            return [None]
        start, end = _day(query, "start_date"), _day(query, "end_date")
        span = (end - start).days
        if not 0 <= span < MAX_REPORT_DAYS:
            raise invalid(f"end_date must be 0 to {MAX_REPORT_DAYS - 1} days after start_date")
        if time_dim == "stat_time_hour":
            if span > 0:
                raise invalid("stat_time_hour needs start_date and end_date on the same day")
            return [f"{start:%Y-%m-%d} {h:02d}:00:00" for h in range(24)]
        if time_dim == "stat_time_day":
            days = (start + datetime.timedelta(d) for d in range(span + 1))
            return [f"{d:%Y-%m-%d} 00:00:00" for d in days]
        return [None]


def _filtering(query: Params) -> Json:
    raw = query.get("filtering")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(f, dict) for f in value):
        # v1.3's list form: each filter_value is itself JSON (a list) or a plain value.
        out: Json = {}
        for f in value:
            raw_value = f.get("filter_value")
            try:
                parsed = json.loads(raw_value) if isinstance(raw_value, str) else raw_value
            except ValueError:
                parsed = raw_value
            out[str(f.get("field_name"))] = parsed
        return out
    raise invalid("filtering must be a JSON object or a list of {field_name, filter_value}")


def _day(query: Params, key: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(query.get(key, ""))
    except ValueError:
        raise invalid(f"{key} must be a date such as '2024-01-31'") from None


def _metrics(key: str, names: list[str], item: Json, objects: Any) -> dict[str, str]:
    # TikTok reports metrics as strings; stable numbers per row.
    n = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    impressions, clicks = 1000 + n % 90_000, 10 + n % 900
    spend, conversions = round((n % 50_000) / 100, 2), n % 40
    plays = impressions * (30 + n % 40) // 100
    views = [plays * p // 100 for p in (60, 40, 25, 15)]
    values: dict[str, object] = {
        "spend": spend, "impressions": impressions, "clicks": clicks,
        "ctr": round(100 * clicks / impressions, 2), "cpc": round(spend / clicks, 2),
        "cpm": round(1000 * spend / impressions, 2), "conversion": conversions,
        "reach": impressions * 3 // 4, "frequency": round(4 / 3, 2),
        "cost_per_conversion": round(spend / conversions, 2) if conversions else 0,
        "conversion_rate": round(100 * conversions / clicks, 2), "currency": "USD",
        "video_play_actions": plays, "video_watched_2s": plays * 70 // 100,
        "video_watched_6s": plays * 45 // 100, "video_views_p25": views[0],
        "video_views_p50": views[1], "video_views_p75": views[2], "video_views_p100": views[3],
        "average_video_play": round(2 + (n % 1000) / 100, 2),
    }  # fmt: skip
    for metric, kind in NAMES.items():
        owner = item if f"{kind}_name" in item else objects[kind].get(item.get(f"{kind}_id", ""))
        values[metric] = owner[f"{kind}_name"] if owner else ""
    return {k: str(values[k]) for k in names}
