"""The Marketing API of TikTok for Business: campaigns, ad groups, ads and reports.

Every advertiser id gets its own stable set of campaigns (each with ad groups, each with
ads), generated from its id, so a test can ask for any advertiser. Listings page as
TikTok pages them, with ``page_info`` {page, page_size, total_number, total_page}.
GETs read the query (JSON-encoded lists for ``fields``, a JSON object for ``filtering``);
POSTs read the JSON body. These paths have no row of their own in the
business preset, so only the app's limits (the QPS) count them.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ._family import invalid, whole

MAX_PAGE_SIZE = 1000
STATUSES = ("ENABLE", "DISABLE", "DELETE")
# filtering's status values (primary_status, status or operation_status): the
# operation statuses each selects.
STATUS_FILTERS = {
    "STATUS_ALL": ("ENABLE", "DISABLE", "DELETE"), "STATUS_NOT_DELETE": ("ENABLE", "DISABLE"),
    "STATUS_DELIVERY_OK": ("ENABLE",), "STATUS_ENABLE": ("ENABLE",), "ENABLE": ("ENABLE",),
    "STATUS_DISABLE": ("DISABLE",), "DISABLE": ("DISABLE",), "STATUS_DELETE": ("DELETE",),
    "DELETE": ("DELETE",),
}  # fmt: skip
Params = Mapping[str, str]
Json = dict[str, Any]


class Marketing:
    """Handlers for campaign/, adgroup/ and ad/ under /open_api/v1.3/ (reports: _reports.py)."""

    def __init__(self, seed: int = 0, campaigns: int = 12, adgroups: int = 3, ads: int = 2):
        self.seed, self.shape = seed, (campaigns, adgroups, ads)
        # advertiser id -> kind ("campaign", "adgroup", "ad") -> id -> the object
        self.accounts: dict[str, dict[str, dict[str, Json]]] = {}
        self._serial = 0

    # -- listings ------------------------------------------------------------------------

    def campaigns(self, query: Params, body: Json, now: float) -> Any:
        return self._list(query, "campaign")

    def adgroups(self, query: Params, body: Json, now: float) -> Any:
        return self._list(query, "adgroup")

    def ads(self, query: Params, body: Json, now: float) -> Any:
        return self._list(query, "ad")

    # -- changes -------------------------------------------------------------------------

    def create_campaign(self, query: Params, body: Json, now: float) -> Any:
        name = _name(body, "campaign_name")
        made = self._add(self.account(body), "campaign", {"campaign_name": name}, body, now)
        return {"campaign_id": made["campaign_id"]}

    def create_adgroup(self, query: Params, body: Json, now: float) -> Any:
        objects = self.account(body)
        parent = _find(objects, "campaign", body.get("campaign_id"))
        fields = {"adgroup_name": _name(body, "adgroup_name"), "campaign_id": parent["campaign_id"]}
        made = self._add(objects, "adgroup", fields, body, now)
        return {"adgroup_id": made["adgroup_id"]}

    def create_ad(self, query: Params, body: Json, now: float) -> Any:
        objects = self.account(body)
        group = _find(objects, "adgroup", body.get("adgroup_id"))
        creatives = body.get("creatives") or [{}]
        made = [
            self._add(objects, "ad", {"ad_name": str(c.get("ad_name", "ad")),
                                      "adgroup_id": group["adgroup_id"],
                                      "campaign_id": group["campaign_id"]}, body, now)["ad_id"]
            for c in creatives
            if isinstance(c, dict)
        ]  # fmt: skip
        return {"ad_ids": made}

    def status_updater(self, kind: str) -> Any:
        """The handler of ``{kind}/status/update/``: ENABLE, DISABLE or DELETE some ids."""

        def update(query: Params, body: Json, now: float) -> Any:
            objects = self.account(body)
            status = body.get("operation_status")
            if status not in STATUSES:
                raise invalid("operation_status must be one of " + ", ".join(STATUSES))
            ids = body.get(f"{kind}_ids")
            if not isinstance(ids, list) or not ids:
                raise invalid(f"{kind}_ids must be a non-empty list")
            found = [_find(objects, kind, i) for i in ids]
            for item in found:
                item["operation_status"] = status
            return {f"{kind}_ids": [item[f"{kind}_id"] for item in found], "status": status}

        return update

    # -- the store -----------------------------------------------------------------------

    def _list(self, query: Params, kind: str) -> Any:
        objects = self.account(query)
        filtering = json_object(query, "filtering")
        live = list(objects[kind].values())
        live = filtered(live, filtering)
        names = json_list(query, "fields", [])
        if names:
            live = [{k: o[k] for k in names if k in o} for o in live]
        return page_of(query, live)

    def account(self, source: Mapping[str, Any]) -> dict[str, dict[str, Json]]:
        advertiser = str(source.get("advertiser_id") or "").strip()
        if not advertiser:
            raise invalid("advertiser_id is required")
        objects = self.accounts.get(advertiser)
        if objects is None:
            objects = self.accounts[advertiser] = {"campaign": {}, "adgroup": {}, "ad": {}}
            self._generate(advertiser, objects)
        return objects

    def _generate(self, advertiser: str, objects: dict[str, dict[str, Json]]) -> None:
        campaigns, adgroups, ads = self.shape
        for c in range(campaigns):
            camp = self._add(objects, "campaign", {"campaign_name": f"Campaign {c + 1}"},
                             {"advertiser_id": advertiser}, 1_690_000_000.0 + c * 3600)  # fmt: skip
            for g in range(adgroups):
                group = self._add(objects, "adgroup", {
                    "adgroup_name": f"Ad group {c + 1}.{g + 1}",
                    "campaign_id": camp["campaign_id"]}, camp, camp["_created"] + g)  # fmt: skip
                for a in range(ads):
                    self._add(objects, "ad", {
                        "ad_name": f"Ad {c + 1}.{g + 1}.{a + 1}", "ad_text": "Try it today",
                        "adgroup_id": group["adgroup_id"], "campaign_id": camp["campaign_id"],
                    }, camp, group["_created"] + a)  # fmt: skip

    def _add(
        self, objects: dict[str, dict[str, Json]], kind: str, fields: Json, body: Json, now: float
    ) -> Json:
        self._serial += 1
        digest = hashlib.sha256(f"{self.seed}:{kind}:{self._serial}".encode()).digest()
        object_id = str(1_700_000_000_000_000_000 + int.from_bytes(digest[:7], "big"))
        stamp = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        item: Json = {
            f"{kind}_id": object_id, "advertiser_id": str(body["advertiser_id"]),
            "operation_status": "ENABLE", "create_time": f"{stamp:%Y-%m-%d %H:%M:%S}",
            "budget": float(body.get("budget", 50 + digest[7] % 200)),
            "budget_mode": str(body.get("budget_mode", "BUDGET_MODE_DAY")), **fields,
        }  # fmt: skip
        if kind == "campaign":
            item["objective_type"] = str(body.get("objective_type", "TRAFFIC"))
        item["modify_time"] = item["create_time"]
        objects[kind][object_id] = item
        # The creation time in seconds, for generated children; not part of the answer.
        return {**item, "_created": now}


def page_of(query: Params, rows: list[Json]) -> Any:
    size = whole(query.get("page_size"), "page_size", 10, 1, MAX_PAGE_SIZE)
    page = whole(query.get("page"), "page", 1, 1, None)
    total_page = max(-(-len(rows) // size), 1) if rows else 0
    chunk = rows[(page - 1) * size : page * size]
    return {
        "list": chunk,
        "page_info": {
            "page": page,
            "page_size": size,
            "total_number": len(rows),
            "total_page": total_page,
        },
    }


def filtered(objects: list[Json], filtering: Json) -> list[Json]:
    """The objects a ``filtering`` object selects: ids of each level and a status.

    Deleted objects are left out unless the status asks for them, as TikTok lists them.
    """
    for key in ("campaign_ids", "adgroup_ids", "ad_ids"):
        wanted = filtering.get(key)
        if wanted is not None:
            if not isinstance(wanted, list):
                raise invalid(f"filtering.{key} must be a list of ids")
            objects = [o for o in objects if o.get(key[:-1]) in {str(w) for w in wanted}]
    status = filtering.get("primary_status") or filtering.get("operation_status")
    status = filtering.get("status", status)
    if status is None:
        return [o for o in objects if o["operation_status"] != "DELETE"]
    if status not in STATUS_FILTERS:
        raise invalid("filtering status must be one of " + ", ".join(STATUS_FILTERS))
    allowed = STATUS_FILTERS[status]
    return [o for o in objects if o["operation_status"] in allowed]


def _find(objects: dict[str, dict[str, Json]], kind: str, object_id: object) -> Json:
    found = objects[kind].get(str(object_id))
    if found is None or found["operation_status"] == "DELETE":
        raise invalid(f"{kind}_id {object_id!r} does not exist")
    return found


def _name(body: Json, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{key} is required")
    return value


def json_list(query: Params, key: str, default: list[str]) -> list[str]:
    raw = query.get(key)
    if not raw:
        return default
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f'{key} must be a JSON list such as ["{default[0] if default else "x"}"]')
    return value


def json_object(query: Params, key: str) -> Json:
    raw = query.get(key)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise invalid(f"{key} must be a JSON object")
    return value
