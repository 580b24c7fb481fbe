"""The Business API family: its routes, its ``{"code": 0, ...}`` envelope and its 40100s."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ._business_assets import BusinessAssets
from ._business_data import BusinessData
from ._data import ApiError, World
from ._family import NO_RATE_HEADERS, ApiRoute, Body, Handler
from ._marketing import Marketing
from ._oauth import OAuth
from ._reports import Reports
from ._windows import ServerRate

QPS_LIMITED = 40100
# TikTok's wording of a 40100, as its API's users report it. Some clients retry a 40100
# only when the message says "too many" or "rate limit", so the words matter.
QPS_LIMITED_MESSAGE = "Due to too many requests, requests from App are temporarily restricted."
TOKEN_INVALID = 40105
# The Business API answers every error with HTTP 200 and a numeric code in the body.
ERROR_CODES: Mapping[str, int] = MappingProxyType(
    {"invalid_params": 40002, "not_found": 40002, "access_token_invalid": TOKEN_INVALID}
)
OTHER_ERROR = 40000


class BusinessFamily:
    """Answers as business-api.tiktok.com does under ``/open_api/v1.3/``.

    It serves the Accounts API (``business/``), the Marketing API (``campaign/``,
    ``adgroup/``, ``ad/``, ``report/`` with its async tasks, ``advertiser/info/``,
    ``dmp/custom_audience/``, ``file/``, ``pixel/list/``), ``user/info/`` and ``oauth2/``.

    Success is ``{"code": 0, "message": "OK", "request_id": ..., "data": {...}}``;
    past a limit the answer is still HTTP 200, with code 40100 and no rate headers.
    """

    name = "business"
    refusal_label = f"code {QPS_LIMITED}"
    default_headers = NO_RATE_HEADERS

    def routes(self, world: World, oauth: OAuth) -> Mapping[str, ApiRoute]:
        data, ads = BusinessData(world), Marketing(world.seed)
        reports, assets = Reports(ads), BusinessAssets(oauth, world.seed)
        post = ("POST",)

        def get(handler: Handler) -> ApiRoute:
            return ApiRoute(("GET",), _with_body_params(handler), body_required=False)

        return {
            "/oauth2/access_token/": ApiRoute(post, oauth.business_token, public=True),
            "/oauth2/refresh_token/": ApiRoute(post, assets.refresh_token, public=True),
            "/oauth2/advertiser/get/": get(assets.advertisers),
            "/user/info/": get(assets.user_info),
            "/advertiser/info/": get(assets.advertiser_info),
            "/campaign/get/": get(ads.campaigns),
            "/adgroup/get/": get(ads.adgroups),
            "/ad/get/": get(ads.ads),
            "/report/integrated/get/": get(reports.report),
            "/report/task/create/": ApiRoute(post, reports.task_create),
            "/report/task/check/": get(reports.task_check),
            "/report/task/download/": get(reports.task_download),
            "/dmp/custom_audience/list/": get(assets.audiences),
            "/dmp/custom_audience/get/": get(assets.audience_get),
            "/file/video/ad/search/": get(assets.video_search),
            "/file/video/ad/info/": get(assets.video_info),
            "/file/image/ad/search/": get(assets.image_search),
            "/file/image/ad/info/": get(assets.image_info),
            "/pixel/list/": get(assets.pixels),
            "/campaign/create/": ApiRoute(post, ads.create_campaign),
            "/adgroup/create/": ApiRoute(post, ads.create_adgroup),
            "/ad/create/": ApiRoute(post, ads.create_ad),
            "/campaign/status/update/": ApiRoute(post, ads.status_updater("campaign")),
            "/adgroup/status/update/": ApiRoute(post, ads.status_updater("adgroup")),
            "/ad/status/update/": ApiRoute(post, ads.status_updater("ad")),
            "/business/get/": get(data.account),
            "/business/video/list/": get(data.videos),
            "/business/comment/list/": get(data.comments),
            "/business/comment/reply/list/": get(data.replies),
            "/business/comment/create/": ApiRoute(post, data.create),
            "/business/comment/reply/create/": ApiRoute(post, data.reply),
            "/business/comment/like/": ApiRoute(post, data.like),
            "/business/comment/pin/": ApiRoute(post, data.pin),
            "/business/comment/hide/": ApiRoute(post, data.hide),
            "/business/comment/delete/": ApiRoute(post, data.delete),
        }

    def authorized(self, headers: Mapping[str, str]) -> bool:
        return bool(headers.get("Access-Token", "").strip())

    def success(self, data: Any, request_id: str) -> tuple[int, Body]:
        return 200, _envelope(0, "OK", request_id, data)

    def error(self, error: ApiError, request_id: str) -> tuple[int, Body]:
        code = ERROR_CODES.get(error.code, OTHER_ERROR)
        message = error.message
        if code == TOKEN_INVALID:
            message = "Access token is incorrect or has been revoked."
        return 200, _envelope(code, message, request_id, {})

    def refusal(self, full: Sequence[ServerRate], request_id: str) -> tuple[int, Body]:
        # One message for every spent window, as TikTok words it (no limit is named).
        return 200, _envelope(QPS_LIMITED, QPS_LIMITED_MESSAGE, request_id, {})


def _with_body_params(handler: Handler) -> Handler:
    """A GET handler that also reads parameters sent in the body.

    TikTok's own examples send GET parameters as a JSON body, and some clients send
    them as a form; TikTok reads either. The query string wins where both name one.
    Lists and objects become JSON text, as they are written in a query string.
    """

    def read(query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        if body:
            merged = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
            query = {**merged, **query}
        return handler(query, {}, now)

    # Whoever looks behind a route (tests read a listing's own store) still finds it.
    functools.update_wrapper(read, handler)
    setattr(read, "__self__", getattr(handler, "__self__", None))  # noqa: B010 (mypy)
    return read


def _envelope(code: int, message: str, request_id: str, data: Any) -> Body:
    return {"code": code, "message": message, "request_id": request_id, "data": data}


BUSINESS_API = BusinessFamily()
