"""The endpoint table: which limits apply to which URL path, as plain data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from .exceptions import ConfigurationError

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
    gives an endpoint a quota of its own outside the app budget.
    """

    path: str
    limits: str
    read_only: bool = False
    counts_toward_app: bool = True


@dataclass(frozen=True)
class Preset:
    """A named limit table with its app-wide budget."""

    name: str
    endpoints: tuple[Endpoint, ...]
    app_limit: str | None
    description: str


def normalize_path(path: str) -> str:
    """Canonical form of a URL path: no query, no version segment, one trailing slash."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    path = _VERSION_SEGMENT.sub("", path)
    path = "/" + path.strip("/")
    return path if path == "/" else path + "/"


SEED = Preset(
    name="seed",
    app_limit="1000/hour",
    description="The limit table of the user's guide (the package default).",
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
        "Research API: 1,000 requests per UTC day; followers and following have "
        "20,000 per UTC day of their own."
    ),
    endpoints=(
        Endpoint("/research/video/query/", "1000/day@utc", read_only=True),
        Endpoint("/research/video/comment/list/", "1000/day@utc", read_only=True),
        Endpoint("/research/user/info/", "1000/day@utc", read_only=True),
        Endpoint("/research/user/liked_videos/", "1000/day@utc", read_only=True),
        Endpoint("/research/user/pinned_videos/", "1000/day@utc", read_only=True),
        Endpoint("/research/user/reposted_videos/", "1000/day@utc", read_only=True),
        Endpoint(
            "/research/user/followers/",
            "20000/day@utc",
            read_only=True,
            counts_toward_app=False,
        ),
        Endpoint(
            "/research/user/following/",
            "20000/day@utc",
            read_only=True,
            counts_toward_app=False,
        ),
    ),
)

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in (SEED, DISPLAY_V2, RESEARCH)})

DEFAULT_LIMITS: Mapping[str, str] = MappingProxyType({e.path: e.limits for e in SEED.endpoints})


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        valid = ", ".join(sorted(PRESETS))
        raise ConfigurationError(
            f"preset={name!r} is not a known preset; valid presets: {valid}"
        ) from None


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
