"""The Business API's account paths beyond campaigns: advertisers, the user, OAuth2
helpers, custom audiences, creatives (videos and images) and pixels.

Each advertiser id sees a stable set of each, generated from the id, so a test can ask
for any advertiser. GETs read the query (lists JSON-encoded, as TikTok takes them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ._family import invalid
from ._marketing import page_of
from ._oauth import OAuth

MAX_IDS = 100
AUDIENCES, VIDEOS, IMAGES, PIXELS = 6, 8, 5, 2
Params = Mapping[str, str]
Json = dict[str, Any]


class BusinessAssets:
    """Handlers for advertiser/, user/, oauth2/, dmp/, file/ and pixel/ under /open_api/v1.3/."""

    def __init__(self, oauth: OAuth, seed: int = 0) -> None:
        self.oauth, self.seed = oauth, seed

    def advertiser_info(self, query: Params, body: Json, now: float) -> Any:
        ids = _ids(query, "advertiser_ids")
        return {"list": [self._advertiser(i) for i in ids]}

    def user_info(self, query: Params, body: Json, now: float) -> Any:
        n = _digest(f"{self.seed}:user")
        return {
            "core_user_id": str(7_000_000_000_000_000_000 + n % 10**18),
            "display_name": "Simulated Marketer", "email": "marketer@example.com",
            "avatar_url": "https://p16-sign.tiktokcdn.com/avatar.jpeg",
            "create_time": 1_600_000_000 + n % 10**7,
        }  # fmt: skip

    def advertisers(self, query: Params, body: Json, now: float) -> Any:
        """oauth2/advertiser/get/: the advertisers the token may act for."""
        _required(query, "app_id", "secret")
        n = _digest(f"{self.seed}:{query['app_id']}")
        ids = [str(7_000_000_000_000_000_000 + (n + k) % 10**15) for k in range(2)]
        return {"list": [{"advertiser_id": i, "advertiser_name": self._name(i)} for i in ids]}

    def refresh_token(self, query: Params, body: Json, now: float) -> Any:
        """oauth2/refresh_token/: a TikTok account's token, refreshed (a form or JSON body)."""
        _required(body, "app_id", "secret", "refresh_token")
        if body.get("grant_type", "refresh_token") != "refresh_token":
            raise invalid("grant_type must be refresh_token")
        made = self.oauth.business_token(
            query, {**body, "auth_code": str(body["refresh_token"])}, now
        )
        return {
            "access_token": made["access_token"], "token_type": "Bearer",
            "expires_in": 86400, "refresh_token": f"rft.{made['access_token'][4:]}",
            "refresh_token_expires_in": 31_536_000, "scope": "user.info.basic,biz.creator.info",
            "open_id": f"-000{_digest(str(body['refresh_token'])) % 16**16:016x}",
        }  # fmt: skip

    def audiences(self, query: Params, body: Json, now: float) -> Any:
        advertiser = _advertiser_id(query)
        rows = [self._audience(advertiser, k) for k in range(AUDIENCES)]
        return page_of(query, rows)

    def audience_get(self, query: Params, body: Json, now: float) -> Any:
        advertiser = _advertiser_id(query)
        known = {
            a["audience_id"]: a for a in (self._audience(advertiser, k) for k in range(AUDIENCES))
        }
        ids = _ids(query, "custom_audience_ids")
        missing = [i for i in ids if i not in known]
        if missing:
            raise invalid("custom_audience_ids do not exist: " + ", ".join(missing))
        return {"list": [{"audience_details": known[i], "audience_history": []} for i in ids]}

    def video_search(self, query: Params, body: Json, now: float) -> Any:
        advertiser = _advertiser_id(query)
        return page_of(query, [self._video(advertiser, k) for k in range(VIDEOS)])

    def video_info(self, query: Params, body: Json, now: float) -> Any:
        advertiser = _advertiser_id(query)
        known = {v["video_id"]: v for v in (self._video(advertiser, k) for k in range(VIDEOS))}
        return {"list": [known[i] for i in _ids(query, "video_ids") if i in known]}

    def image_search(self, query: Params, body: Json, now: float) -> Any:
        advertiser = _advertiser_id(query)
        return page_of(query, [self._image(advertiser, k) for k in range(IMAGES)])

    def image_info(self, query: Params, body: Json, now: float) -> Any:
        advertiser = _advertiser_id(query)
        known = {v["image_id"]: v for v in (self._image(advertiser, k) for k in range(IMAGES))}
        return {"list": [known[i] for i in _ids(query, "image_ids") if i in known]}

    def pixels(self, query: Params, body: Json, now: float) -> Any:
        advertiser = _advertiser_id(query)
        rows = [self._pixel(advertiser, k) for k in range(PIXELS)]
        listed = page_of(query, rows)
        return {"pixels": listed["list"], "page_info": listed["page_info"]}

    # -- generated objects ---------------------------------------------------------------

    def _name(self, advertiser: str) -> str:
        return f"Simulated Advertiser {_digest(advertiser) % 1000}"

    def _advertiser(self, advertiser: str) -> Json:
        n = _digest(f"{self.seed}:{advertiser}")
        return {
            "advertiser_id": advertiser, "name": self._name(advertiser), "currency": "USD",
            "timezone": "Etc/GMT", "display_timezone": "Etc/GMT", "status": "STATUS_ENABLE",
            "role": "ROLE_ADVERTISER", "company": "Simulated Ltd", "country": "US",
            "balance": round((n % 10**7) / 100, 2), "create_time": 1_600_000_000 + n % 10**7,
            "industry": "291905", "language": "en", "contacter": "Sim Contact",
            "email": "ads@example.com", "address": "1 Simulated Way",
        }  # fmt: skip

    def _id(self, advertiser: str, kind: str, k: int) -> str:
        return str(
            7_100_000_000_000_000_000 + _digest(f"{self.seed}:{advertiser}:{kind}:{k}") % 10**17
        )

    def _audience(self, advertiser: str, k: int) -> Json:
        n = _digest(f"{advertiser}:audience:{k}")
        return {
            "audience_id": self._id(advertiser, "audience", k), "name": f"Audience {k + 1}",
            "audience_type": ("CUSTOMER_FILE", "ENGAGEMENT", "LOOKALIKE")[k % 3],
            "cover_num": 1000 + n % 10**6, "is_valid": True, "is_expiring": False,
            "is_creator": True, "shared": False, "create_time": "2024-01-01 00:00:00",
            "expired_time": "2025-01-01 00:00:00", "calculate_type": None,
        }  # fmt: skip

    def _video(self, advertiser: str, k: int) -> Json:
        n = _digest(f"{advertiser}:video:{k}")
        vid = f"v10033g50000{n % 16**12:012x}"
        return {
            "video_id": vid, "file_name": f"creative_{k + 1}.mp4", "width": 1080, "height": 1920,
            "duration": float(5 + n % 55), "format": "mp4", "size": 1_000_000 + n % 10**7,
            "bit_rate": 2_000_000, "signature": f"{n:016x}", "displayable": True,
            "allowed_placements": ["PLACEMENT_TIKTOK"], "material_id": self._id(advertiser, "v", k),
            "video_cover_url": f"https://p16-sign.tiktokcdn.com/cover/{vid}.jpeg",
            "preview_url": f"https://v16m.tiktokcdn.com/{vid}.mp4",
            "create_time": "2024-01-01 00:00:00", "modify_time": "2024-01-01 00:00:00",
        }  # fmt: skip

    def _image(self, advertiser: str, k: int) -> Json:
        n = _digest(f"{advertiser}:image:{k}")
        iid = f"ad-site-i18n-sg/{n % 16**16:016x}"
        return {
            "image_id": iid, "file_name": f"image_{k + 1}.jpg", "width": 1200, "height": 628,
            "format": "jpeg", "size": 100_000 + n % 10**6, "signature": f"{n:016x}",
            "image_url": f"https://p16-sign.tiktokcdn.com/{iid}.jpeg", "displayable": True,
            "material_id": self._id(advertiser, "i", k), "is_carousel_usable": True,
            "create_time": "2024-01-01 00:00:00", "modify_time": "2024-01-01 00:00:00",
        }  # fmt: skip

    def _pixel(self, advertiser: str, k: int) -> Json:
        n = _digest(f"{advertiser}:pixel:{k}")
        return {
            "pixel_id": self._id(advertiser, "pixel", k), "pixel_name": f"Pixel {k + 1}",
            "pixel_code": f"C{n % 36**19:019X}"[:20], "activity_status": "ACTIVE",
            "pixel_setup_mode": "MANUAL", "create_time": "2024-01-01 00:00:00",
            "events": [{"event_type": "COMPLETE_PAYMENT", "name": "Purchase",
                        "statistic_type": "EVERY_TIME"}],
        }  # fmt: skip


def _advertiser_id(source: Mapping[str, Any]) -> str:
    value = str(source.get("advertiser_id") or "").strip()
    if not value:
        raise invalid("advertiser_id is required")
    return value


def _required(source: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if not str(source.get(name) or "").strip():
            raise invalid(f"{name} is required")


def _ids(query: Params, key: str) -> list[str]:
    raw = query.get(key)
    if not raw:
        raise invalid(f"{key} is required")
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not value or len(value) > MAX_IDS:
        raise invalid(f'{key} must be a JSON list of 1 to {MAX_IDS} ids such as ["123"]')
    return [str(v) for v in value]


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
