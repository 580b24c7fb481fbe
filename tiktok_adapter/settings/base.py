"""Every knob of the adapter as validated fields; :mod:`.model` adds the loaders on top."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, get_args

from ..core.endpoints import get_preset
from ..core.rates import parse_rates
from ..exceptions import ConfigurationError
from ..storage import validate_storage_uri
from .checks import (
    MAX_SECONDS,
    check_choice,
    check_retries,
    check_seconds,
    check_text,
    closest,
    keywords_of,
    read_text,
)
from .urls import limits_by_path

OnLimit = Literal["sleep", "raise"]
OnStorageError = Literal["fallback", "raise"]
ON_LIMIT: tuple[OnLimit, ...] = get_args(OnLimit)
ON_STORAGE_ERROR: tuple[OnStorageError, ...] = get_args(OnStorageError)
PRESET_APP_LIMIT = "preset"
PRIORITY_NAMES = ("low", "medium", "high", "critical")
# Priorities order the waiters; they are not a tax on every request. Only LOW work
# leaves room by default (half of each window); untagged (MEDIUM) traffic may use every
# slot of a configured limit. `priority_shares` reserves more for the upper levels.
DEFAULT_PRIORITY_SHARES: Mapping[str, float] = MappingProxyType(
    {"low": 0.5, "medium": 1.0, "high": 1.0, "critical": 1.0}
)
# A server enforcing exactly our limit refuses a request when one admitted a window
# earlier reached it later, relative to its admission, than this one did; the margin
# must cover that lateness. Measured (benchmarks/margin.py; README "Performance") on a
# loaded 2-core machine, 8 threads on memory and 4 processes x 4 threads on Redis: median
# 7 ms, above 20 ms in 7 of 78 runs, above 30 ms in 4. 0.02 s let a 429 through in 2 of 10
# fleet runs, 0.03 s in 1; 0.05 s would have covered every run, but a margin costs
# margin/window of throughput: 5% of a 1 s window against 3% (0.05% of a minute).
DEFAULT_SAFETY_MARGIN = 0.03
ENV_PREFIX = "TIKTOK_ADAPTER_"
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


_S = TypeVar("_S", bound="SettingsBase")


class FieldError(ConfigurationError):
    """A ConfigurationError that knows which field it is about, so loaders can name the source."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def _about(name: str) -> Iterator[None]:
    try:
        yield
    except FieldError:
        raise
    except ConfigurationError as exc:
        raise FieldError(str(exc), name) from None


def redact(uri: object) -> object:
    """``uri`` with any password replaced by ***, for messages and reprs."""
    return _PASSWORD.sub(r"\1***@", uri) if isinstance(uri, str) else uri


@dataclass(frozen=True)
class SettingsBase:
    """The adapter's configuration; constructing one validates every field.

    Defaults follow the user's guide: its limit table, 1,000 requests an hour for the
    app, three retries with a backoff base of two seconds. Build one in code, or with
    :meth:`from_mapping`, :meth:`from_env`, :meth:`from_file`, or :meth:`load`, which
    layers code over environment over file over defaults.
    """

    limits: Mapping[str, str] = field(default_factory=dict)
    preset: str = "seed"
    tier: str | None = None
    app_limit: str | None = PRESET_APP_LIMIT
    storage_uri: str = "memory://"
    key_prefix: str = "tiktok_adapter"
    on_limit: OnLimit = "sleep"
    max_wait: float | None = None
    max_retries: int = 3
    backoff_base: float = 2.0
    backoff_max: float = 60.0
    safety_margin: float = DEFAULT_SAFETY_MARGIN
    on_storage_error: OnStorageError = "fallback"
    storage_time: bool = True
    default_priority: str = "medium"
    priority_shares: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_SHARES)
    )
    rate_limit_codes: frozenset[int] = frozenset({40100})
    cache_expire_after: float = 1800.0
    learn_limits: bool = True

    if not TYPE_CHECKING:  # type checkers keep reading the dataclass's own signature

        def __new__(cls, *args, **kwargs):
            # The dataclass's __init__ would raise a bare TypeError for a mistyped name.
            check_keywords(cls.__name__, kwargs)
            return super().__new__(cls)

    def __post_init__(self) -> None:
        # Each check runs under _about(name) so a loader can tell which of its keys failed.
        # Text is read as every loader reads it, so TikTokAdapter(max_retries="3") and
        # replace() accept what from_mapping() accepts.
        for f in fields(self):
            with _about(f.name):
                object.__setattr__(self, f.name, read_text(f.name, getattr(self, f.name)))
        with _about("limits"):
            if not isinstance(self.limits, Mapping):
                raise ConfigurationError(
                    f"limits={self.limits!r} must be a mapping of endpoint path to limit "
                    "string, such as {'/video/query/': '10/minute;100/hour'}"
                )
            # A full URL as a key would be a row no path matches: its path, or an error.
            object.__setattr__(self, "limits", MappingProxyType(limits_by_path(self.limits)))
            for path, spec in self.limits.items():
                parse_rates(spec, f"limits[{path!r}]")
        with _about("priority_shares"):
            self._check_priorities()
        for name in MAX_SECONDS:
            with _about(name):
                if getattr(self, name) is not None or name != "max_wait":
                    check_seconds(getattr(self, name), name)
        with _about("rate_limit_codes"):
            self._check_codes()
        with _about("preset"):
            get_preset(check_text(self.preset, "preset"))
        with _about("tier" if self.tier is not None else "preset"):
            if self.tier is not None:
                get_preset(self.preset, check_text(self.tier, "tier"))
        with _about("app_limit"):
            if self.app_limit is not None and self.app_limit != PRESET_APP_LIMIT:
                parse_rates(self.app_limit, "app_limit")
        with _about("storage_uri"):
            self._check_storage()
        for name, valid in (("on_limit", ON_LIMIT), ("on_storage_error", ON_STORAGE_ERROR)):
            with _about(name):
                check_choice(getattr(self, name), name, valid)
        with _about("key_prefix"):
            if not check_text(self.key_prefix, "key_prefix") or "{" in self.key_prefix:
                raise ConfigurationError(
                    f"key_prefix={self.key_prefix!r} must be a non-empty string without braces"
                )
        with _about("max_retries"):
            check_retries(self.max_retries, "max_retries")
        for flag in ("storage_time", "learn_limits"):
            with _about(flag):
                if not isinstance(getattr(self, flag), bool):
                    raise ConfigurationError(
                        f"{flag}={getattr(self, flag)!r} must be true or false"
                    )

    def _check_priorities(self) -> None:
        with _about("default_priority"):
            if isinstance(self.default_priority, str):
                object.__setattr__(self, "default_priority", self.default_priority.lower())
            check_choice(self.default_priority, "default_priority", PRIORITY_NAMES)
        if not isinstance(self.priority_shares or {}, Mapping):
            raise ConfigurationError(
                f"priority_shares={self.priority_shares!r} must be a mapping such as "
                "{'low': 0.5, 'medium': 0.8}"
            )
        shares = dict(DEFAULT_PRIORITY_SHARES)
        for name, share in dict(self.priority_shares or {}).items():
            key = name.lower() if isinstance(name, str) else name
            check_choice(key, "priority_shares key", PRIORITY_NAMES)
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
                raise ConfigurationError(
                    f"priority_shares[{name!r}]={share!r} must be a fraction in (0, 1]"
                )
            shares[key] = float(share)
        object.__setattr__(self, "priority_shares", MappingProxyType(shares))

    def _check_codes(self) -> None:
        codes = self.rate_limit_codes
        if (
            isinstance(codes, (str, bytes))
            or not isinstance(codes, Iterable)
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes)
        ):
            raise ConfigurationError(
                f"rate_limit_codes={codes!r} must be a set of whole numbers such as {{40100}}"
            )
        object.__setattr__(self, "rate_limit_codes", frozenset(codes))

    def _check_storage(self) -> None:
        # The backend's registry entry validates the URI and names a missing client, at
        # construction rather than at the first request, and never echoes a password.
        validate_storage_uri(self.storage_uri)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{f.name}={redact(getattr(self, f.name))!r}"
            if f.name == "storage_uri"
            else f"{f.name}={_plain(getattr(self, f.name))!r}"
            for f in fields(self)
        )
        return f"Settings({parts})"

    def __getstate__(self) -> dict[str, Any]:
        # mappingproxy does not pickle; plain dicts do, and __setstate__ re-freezes them.
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickles made before a field existed get that field's default.
        for name, value in {**_defaults(), **state}.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    @property
    def effective_app_limit(self) -> str | None:
        if self.app_limit == PRESET_APP_LIMIT:
            return get_preset(self.preset, self.tier).app_limit
        return self.app_limit

    def replace(self: _S, **changes: Any) -> _S:
        """A copy with ``changes``; an unknown name raises ConfigurationError."""
        check_keywords("Settings.replace", changes)
        return replace(self, **changes)


FIELD_NAMES = frozenset(f.name for f in fields(SettingsBase))


def check_keywords(owner: str, given: Mapping[str, Any], *takers: Callable[..., Any]) -> None:
    """Raise ConfigurationError for a keyword in ``given`` that is neither a setting nor
    one that a function of ``takers`` (the entry point, the constructor it builds) takes,
    with the closest valid name, as the file, environment and mapping loaders do."""
    unknown = sorted(set(given) - FIELD_NAMES)
    if not unknown:
        return
    own = frozenset().union(*(keywords_of(taker) for taker in takers)) - FIELD_NAMES
    unknown = [name for name in unknown if name not in own]
    if not unknown:
        return
    name = unknown[0]
    guess = closest(name, FIELD_NAMES | own)
    shown = repr(redact(given[name]))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise ConfigurationError(
        f"{owner}({name}={shown}): unknown keyword {name!r}; "
        + (f"did you mean {guess!r}? " if guess else "")
        + "valid settings: "
        + ", ".join(sorted(FIELD_NAMES))
        + ("; other keywords: " + ", ".join(sorted(own)) if own else "")
    )


def _defaults() -> dict[str, Any]:
    return {f.name: _plain(getattr(SettingsBase(), f.name)) for f in fields(SettingsBase)}


def _plain(value: object) -> object:
    return dict(value) if isinstance(value, MappingProxyType) else value


class SettingsKwargs(TypedDict, total=False):
    """The keywords TikTokAdapter accepts for :class:`Settings` fields."""

    limits: Mapping[str, str]
    preset: str
    tier: str | None
    app_limit: str | None
    storage_uri: str
    key_prefix: str
    on_limit: OnLimit
    max_wait: float | None
    max_retries: int
    backoff_base: float
    backoff_max: float
    safety_margin: float
    on_storage_error: OnStorageError
    storage_time: bool
    default_priority: str
    priority_shares: Mapping[str, float]
    rate_limit_codes: frozenset[int]
    cache_expire_after: float
    learn_limits: bool
