"""The Business API family: its routes, its ``{"code": 0, ...}`` envelope and its 40100s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ._business_data import BusinessData
from ._data import ApiError, World
from ._family import NO_RATE_HEADERS, ApiRoute, Body
from ._marketing import Marketing
from ._oauth import OAuth
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
    ``adgroup/``, ``ad/``, ``report/``) and ``oauth2/access_token/``.

    Success is ``{"code": 0, "message": "OK", "request_id": ..., "data": {...}}``;
    past a limit the answer is still HTTP 200, with code 40100 and no rate headers.
    """

    name = "business"
    refusal_label = f"code {QPS_LIMITED}"
    default_headers = NO_RATE_HEADERS

    def routes(self, world: World, oauth: OAuth) -> Mapping[str, ApiRoute]:
        data, ads = BusinessData(world), Marketing(world.seed)
        get, post = ("GET",), ("POST",)
        return {
            "/oauth2/access_token/": ApiRoute(post, oauth.business_token, public=True),
            "/campaign/get/": ApiRoute(get, ads.campaigns),
            "/adgroup/get/": ApiRoute(get, ads.adgroups),
            "/ad/get/": ApiRoute(get, ads.ads),
            "/report/integrated/get/": ApiRoute(get, ads.report),
            "/campaign/create/": ApiRoute(post, ads.create_campaign),
            "/adgroup/create/": ApiRoute(post, ads.create_adgroup),
            "/ad/create/": ApiRoute(post, ads.create_ad),
            "/campaign/status/update/": ApiRoute(post, ads.status_updater("campaign")),
            "/adgroup/status/update/": ApiRoute(post, ads.status_updater("adgroup")),
            "/ad/status/update/": ApiRoute(post, ads.status_updater("ad")),
            "/business/get/": ApiRoute(get, data.account),
            "/business/video/list/": ApiRoute(get, data.videos),
            "/business/comment/list/": ApiRoute(get, data.comments),
            "/business/comment/reply/list/": ApiRoute(get, data.replies),
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


def _envelope(code: int, message: str, request_id: str, data: Any) -> Body:
    return {"code": code, "message": message, "request_id": request_id, "data": data}


BUSINESS_API = BusinessFamily()
