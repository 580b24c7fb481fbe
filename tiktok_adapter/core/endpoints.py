"""The endpoint table: which limits apply to which URL path, as plain data."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from .costs import RecordCost, follow_list, research
from .errors import ConfigurationError
from .hosts import Host, HostKind, host_name, v2_hosts
from .paths import resolve_path

logger = logging.getLogger("tiktok_adapter")

# "/v2", "/v1.3" and the Business API's "/open_api/v1.3" are transport details; the
# seed's table is written without them, so they are stripped before matching.
_VERSION_SEGMENT = re.compile(r"/(?:open_api/)?v\d+(?:\.\d+)*(?=/)")
_MATCH_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Endpoint:
    """One row of the limit table.

    ``limits`` is in `limits` syntax ("10/minute;100/hour"); a part may end in
    ``@utc`` to count per calendar period in UTC ("1000/day@utc") instead of in a
    moving window. ``read_only`` endpoints are safe to re-send after a connection
    error and may be cached. ``counts_toward_app`` is False where the API family
    gives an endpoint a quota of its own outside the app budget. ``cost`` says what a
    request spends beyond one request (the Research API's records), or None.
    """

    path: str
    limits: str
    read_only: bool = False
    counts_toward_app: bool = True
    cost: RecordCost | None = None


# TikTok does not count OAuth calls (token, refresh, revoke; the Business API's oauth2)
# against any API family's quota, so no preset's app limit covers them.
OAUTH_PATHS = ("/oauth/", "/oauth2/")


@dataclass(frozen=True)
class Preset:
    """A named limit table with its app-wide budget, where it is mounted, and its sources.

    ``app_covers`` lists the canonical path prefixes that the app limit counts ("/" for
    every path), and ``app_exempt`` those it never counts, so that each family's quota
    counts only what TikTok counts. A prefix matches at any segment boundary, so a
    proxy or sandbox prefix in front of the path changes nothing. ``hosts`` are the hosts
    mount() and install() cover (core/hosts.py says how each kind counts); left empty,
    they are ``base_url``'s host alone. ``base_url`` is the production host's root.
    """

    name: str
    endpoints: tuple[Endpoint, ...]
    app_limit: str | None
    description: str
    base_url: str = "https://open.tiktokapis.com/"
    source: str = ""
    app_covers: tuple[str, ...] = ("/",)
    app_exempt: tuple[str, ...] = OAUTH_PATHS
    hosts: tuple[Host, ...] = ()

    def __post_init__(self) -> None:
        if not self.hosts:
            object.__setattr__(self, "hosts", (Host(host_name(self.base_url)),))

    def app_counts(self, path: str) -> bool:
        """Whether a request to ``path`` spends the app limit (before any row's own say)."""
        canonical = normalize_path(path)
        if any(prefix in canonical for prefix in self.app_exempt):
            return False
        return any(prefix in canonical for prefix in self.app_covers)

    @property
    def app_coverage(self) -> str:
        """What the app limit covers, in words, for `tiktok-adapter limits`."""
        covers = "every path" if self.app_covers == ("/",) else ", ".join(self.app_covers)
        if not self.app_exempt:
            return covers
        return f"{covers} except {', '.join(self.app_exempt)}"


def normalize_path(path: str) -> str:
    """Canonical form of a URL path: no query, no version segment, one trailing slash.

    The path is first resolved as the server (nginx) resolves it before choosing a
    location, so that no other spelling of a row's path escapes the row's windows.
    """
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "%" in path or "//" in path or "/." in path:  # the common path never gets here
        path = resolve_path(path)
    path = _VERSION_SEGMENT.sub("", path)
    path = "/" + path.strip("/")
    return path if path == "/" else path + "/"


SEED = Preset(
    name="seed",
    app_limit="1000/hour",
    description="The limit table of the user's guide (the package default).",
    source="The user's guide, 'TikTok Rate Limits' (the seed document).",
    endpoints=(
        Endpoint("/user/info/", "10/minute;100/hour", read_only=True),
        Endpoint("/video/list/", "5/minute;50/hour", read_only=True),
        Endpoint("/video/query/", "20/minute;200/hour", read_only=True),
        Endpoint("/video/comment/list/", "10/minute;100/hour", read_only=True),
        Endpoint("/video/comment/create/", "5/minute;50/hour"),
        Endpoint("/video/comment/delete/", "10/minute;100/hour"),
        Endpoint("/video/comment/pin/", "5/minute;50/hour"),
    ),
)

DISPLAY_V2 = Preset(
    name="display-v2",
    app_limit=None,
    description="TikTok's documented v2 Display API: 600 per sliding minute per endpoint.",
    source="TikTok for Developers, API v2 rate limits.",
    endpoints=(
        Endpoint("/user/info/", "600/minute", read_only=True),
        Endpoint("/video/list/", "600/minute", read_only=True),
        Endpoint("/video/query/", "600/minute", read_only=True),
    ),
)

RESEARCH = Preset(
    name="research",
    app_limit="1000/day@utc",
    description=(
        "Research API: 1,000 requests and 100,000 records per UTC day; followers and "
        "following have 20,000 requests and 2,000,000 records per UTC day of their own."
    ),
    source="TikTok Research API documentation (daily quota, reset at 00:00 UTC).",
    # The daily 1,000 counts Research calls only: an OAuth token or a Display API call
    # made with the same client key spends none of it.
    app_covers=("/research/",),
    endpoints=(
        Endpoint("/research/video/query/", "1000/day@utc", read_only=True,
                 cost=research(20, "videos")),
        Endpoint("/research/video/comment/list/", "1000/day@utc", read_only=True,
                 cost=research(10, "comments")),
        Endpoint("/research/user/info/", "1000/day@utc", read_only=True,
                 cost=research(1, field=None)),
        Endpoint("/research/user/liked_videos/", "1000/day@utc", read_only=True,
                 cost=research(20, "user_liked_videos")),
        Endpoint("/research/user/pinned_videos/", "1000/day@utc", read_only=True,
                 cost=research(3, "pinned_videos_list", field=None)),
        Endpoint("/research/user/reposted_videos/", "1000/day@utc", read_only=True,
                 cost=research(20, "user_reposted_videos")),
        Endpoint("/research/user/followers/", "20000/day@utc", read_only=True,
                 counts_toward_app=False, cost=follow_list("followers", "user_followers")),
        Endpoint("/research/user/following/", "20000/day@utc", read_only=True,
                 counts_toward_app=False, cost=follow_list("following", "user_following")),
    ),
)  # fmt: skip

CONTENT_POSTING = Preset(
    name="content-posting",
    app_limit=None,
    description="Content Posting API: limits per user access token.",
    source="TikTok Content Posting API reference (rate limits per user token).",
    hosts=v2_hosts(Host("open-upload.tiktokapis.com", HostKind.UPLOAD)),
    endpoints=(
        Endpoint("/post/publish/creator_info/query/", "20/minute@token", read_only=True),
        Endpoint("/post/publish/video/init/", "6/minute@token"),
        Endpoint("/post/publish/inbox/video/init/", "6/minute@token"),
        Endpoint("/post/publish/content/init/", "6/minute@token"),
        Endpoint("/post/publish/status/fetch/", "30/minute@token", read_only=True),
    ),
)

# The guide's comment limits, applied to the Business API's endpoints by meaning, plus
# the per-account limit of 40 a minute that TikTok reports for each comment endpoint.
_READ = "10/minute;100/hour;40/minute@account"
_WRITE = "5/minute;50/hour;40/minute@account"
_REMOVE = "10/minute;100/hour;40/minute@account"
BUSINESS = Preset(
    name="business",
    app_limit="10/second;1000/hour",
    description="TikTok API for Business: comment moderation, app QPS plus the guide's hour.",
    base_url="https://business-api.tiktok.com/",
    source="TikTok API for Business docs (QPS, tiers, per-account comment limit); the guide.",
    # The sandbox counts apart at these same limits: its own lower limits are not
    # published in any source we have, so none is made up (core/hosts.py).
    hosts=(Host("business-api.tiktok.com"), Host("sandbox-ads.tiktok.com", HostKind.SANDBOX)),
    endpoints=(
        Endpoint("/business/comment/list/", _READ, read_only=True),
        Endpoint("/business/comment/reply/list/", _READ, read_only=True),
        Endpoint("/business/comment/create/", _WRITE),
        Endpoint("/business/comment/reply/create/", _WRITE),
        Endpoint("/business/comment/delete/", _REMOVE),
        Endpoint("/business/comment/hide/", _REMOVE),
        Endpoint("/business/comment/pin/", _WRITE),
        Endpoint("/business/comment/like/", _WRITE),
        Endpoint("/business/video/list/", "5/minute;50/hour", read_only=True),
        Endpoint("/business/get/", "10/minute;100/hour", read_only=True),
    ),
)

# The Business API's app tiers: per second, per minute, per UTC day.
BUSINESS_TIERS: Mapping[str, str] = MappingProxyType(
    {
        "basic": "10/second;600/minute;864000/day@utc",
        "advanced": "20/second;1200/minute;1728000/day@utc",
        "premium": "30/second;1800/minute;2592000/day@utc",
        "ultimate": "50/second;3000/minute;4320000/day@utc",
    }
)

PRESETS: Mapping[str, Preset] = MappingProxyType(
    {p.name: p for p in (SEED, DISPLAY_V2, RESEARCH, CONTENT_POSTING, BUSINESS)}
)

DEFAULT_LIMITS: Mapping[str, str] = MappingProxyType({e.path: e.limits for e in SEED.endpoints})


def get_preset(name: str, tier: str | None = None) -> Preset:
    """The preset ``name``; ``tier`` picks the Business API's app tier."""
    try:
        preset = PRESETS[name]
    except KeyError:
        valid = ", ".join(sorted(PRESETS))
        raise ConfigurationError(
            f"preset={name!r} is not a known preset; valid presets: {valid}"
        ) from None
    if tier is None:
        return preset
    if preset is not BUSINESS:
        raise ConfigurationError(f"tier={tier!r} applies only to preset='business'")
    try:
        app_limit = BUSINESS_TIERS[tier]
    except KeyError:
        valid = ", ".join(BUSINESS_TIERS)
        raise ConfigurationError(
            f"tier={tier!r} is not a Business API tier; use one of: {valid}"
        ) from None
    return replace(preset, app_limit=app_limit, name=f"business ({tier})")


class EndpointTable:
    """Finds the table row for a URL path; immutable once built."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._rows: dict[str, Endpoint] = {}
        for endpoint in endpoints:
            path = normalize_path(endpoint.path)
            self._rows[path] = replace(endpoint, path=path)
        self._cache: dict[str, Endpoint | None] = {}

    @classmethod
    def build(cls, preset: Preset, overrides: Mapping[str, str] | None = None) -> EndpointTable:
        """The preset's rows with ``overrides`` ({path: limits}) merged over them."""
        rows = {normalize_path(e.path): e for e in preset.endpoints}
        for raw_path, limits in (overrides or {}).items():
            if not isinstance(raw_path, str) or not raw_path.strip("/"):
                raise ConfigurationError(
                    f"limits: key {raw_path!r} is not an endpoint path; "
                    "use a path such as '/video/query/'"
                )
            path = normalize_path(raw_path)
            known = rows.get(path)
            if known is None:
                _warn_unknown(path, preset, rows)
            rows[path] = replace(known, limits=limits) if known else Endpoint(path, limits)
        return cls(rows.values())

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self._rows.values())

    def __len__(self) -> int:
        return len(self._rows)

    def match(self, path: str) -> Endpoint | None:
        """The row for ``path``, or None for a path the table does not know.

        A path also matches when it carries a prefix of its own (a proxy or sandbox
        mount such as ``/proxy/v2/video/query/``): leading segments are dropped until
        a row matches.
        """
        try:
            return self._cache[path]
        except KeyError:
            pass
        found = self._lookup(normalize_path(path))
        if len(self._cache) >= _MATCH_CACHE_SIZE:
            self._cache.clear()
        self._cache[path] = found
        return found

    def _lookup(self, canonical: str) -> Endpoint | None:
        candidate = canonical
        while candidate != "/":
            row = self._rows.get(candidate)
            if row is not None:
                return row
            candidate = "/" + candidate.split("/", 2)[2]
        return None


def _warn_unknown(path: str, preset: Preset, rows: Mapping[str, Endpoint]) -> None:
    """A key no row of the preset has is fine (a custom endpoint) but is often a typo."""
    close = difflib.get_close_matches(path, list(rows), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else " (a custom endpoint of your own)"
    logger.warning(
        "limits: %r is not an endpoint of preset %r; it is added as a new row%s",
        path, preset.name, hint,
    )  # fmt: skip
