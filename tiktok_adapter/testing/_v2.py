"""The v2 family (Display, Research, Content Posting): its routes, envelope and 429s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._data import ApiError, World
from ._family import NO_RATE_HEADERS, ApiRoute, Body
from ._oauth import OAuth
from ._posting import Publishing
from ._research import Research
from ._upload import UPLOAD_PATH
from ._windows import ServerRate

RATE_LIMITED = "rate_limit_exceeded"
QUOTA_SPENT = "daily_quota_limit_exceeded"
# TikTok's own words: its v2 error table (developers.tiktok.com, "Error Handling") gives
# this message for rate_limit_exceeded. Clients match on the code, a few on the words.
RATE_LIMITED_MESSAGE = "The API rate limit was exceeded. Please try again later."
# The Research API's daily quota has no message in TikTok's documents; this one names
# the quota and its reset in the same plain terms, and none of the simulator's notation.
QUOTA_SPENT_MESSAGE = "The daily quota limit was exceeded. Please try again after 00:00 UTC."
# The documented message for access_token_invalid, from the same table.
TOKEN_INVALID_MESSAGE = (
    "The access token is invalid or not found in the request. Please refresh the token and retry."
)
_DAY = 86400.0


class V2Family:
    """Answers as open.tiktokapis.com does: ``{"data": ..., "error": {code, message, log_id}}``.

    Past a limit it answers 429 with ``rate_limit_exceeded``, or with
    ``daily_quota_limit_exceeded`` when the full window is a whole UTC day.
    """

    name = "v2"
    refusal_label = "429"
    default_headers = NO_RATE_HEADERS

    def routes(self, world: World, oauth: OAuth) -> Mapping[str, ApiRoute]:
        research, posting = Research(world), Publishing(world)
        lists = research.lists
        post = ("POST",)
        return {
            "/oauth/token/": ApiRoute(post, oauth.token, body_required=False, public=True),
            "/oauth/revoke/": ApiRoute(post, oauth.revoke, body_required=False, public=True),
            # user/info is the one endpoint TikTok also takes by GET, without a body.
            "/user/info/": ApiRoute(("GET", "POST"), world.user_info, body_required=False),
            "/video/list/": ApiRoute(post, world.video_list),
            "/video/query/": ApiRoute(post, world.video_query),
            "/video/comment/list/": ApiRoute(post, world.comment_list),
            "/video/comment/create/": ApiRoute(post, world.comment_create),
            "/video/comment/delete/": ApiRoute(post, world.comment_delete),
            "/video/comment/pin/": ApiRoute(post, world.comment_pin),
            "/research/video/query/": ApiRoute(post, research.video_query),
            "/research/user/info/": ApiRoute(post, research.user_info),
            "/research/user/followers/": ApiRoute(post, research.followers),
            "/research/user/following/": ApiRoute(post, research.following),
            "/research/video/comment/list/": ApiRoute(post, lists.comments),
            "/research/user/liked_videos/": ApiRoute(post, lists.liked),
            "/research/user/pinned_videos/": ApiRoute(post, lists.pinned),
            "/research/user/reposted_videos/": ApiRoute(post, lists.reposted),
            "/post/publish/creator_info/query/": ApiRoute(
                post, posting.creator_info, body_required=False
            ),
            "/post/publish/video/init/": ApiRoute(post, posting.video_init),
            "/post/publish/inbox/video/init/": ApiRoute(post, posting.inbox_init),
            "/post/publish/content/init/": ApiRoute(post, posting.content_init),
            "/post/publish/status/fetch/": ApiRoute(post, posting.status),
            # The upload host's chunk PUTs (open-upload.tiktokapis.com), which carry no
            # access token: the upload_url is the credential.
            UPLOAD_PATH: ApiRoute(("PUT",), posting.upload, body_required=False, public=True),
        }

    def authorized(self, headers: Mapping[str, str]) -> bool:
        return headers.get("Authorization", "").startswith("Bearer ")

    def success(self, data: Any, request_id: str) -> tuple[int, Body]:
        return 200, _envelope(data, "ok", "", request_id)

    def error(self, error: ApiError, request_id: str) -> tuple[int, Body]:
        return error.status, _envelope({}, error.code, error.message, request_id)

    def refusal(self, full: Sequence[ServerRate], request_id: str) -> tuple[int, Body]:
        rate = full[0]
        if rate.calendar and rate.period >= _DAY:
            return 429, _envelope({}, QUOTA_SPENT, QUOTA_SPENT_MESSAGE, request_id)
        return 429, _envelope({}, RATE_LIMITED, RATE_LIMITED_MESSAGE, request_id)


def _envelope(data: Any, code: str, message: str, log_id: str) -> Body:
    return {"data": data, "error": {"code": code, "message": message, "log_id": log_id}}


V2 = V2Family()
