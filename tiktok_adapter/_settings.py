"""Every knob of the adapter in one immutable, validated object."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, TypedDict

from ._endpoints import get_preset
from ._limiter import parse_rates, validate_storage_uri
from .exceptions import ConfigurationError

ON_LIMIT = ("sleep", "raise")
ON_STORAGE_ERROR = ("fallback", "raise")
PRESET_APP_LIMIT = "preset"
PRIORITY_NAMES = ("low", "medium", "high", "critical")
DEFAULT_PRIORITY_SHARES: Mapping[str, float] = MappingProxyType(
    {"low": 0.5, "medium": 0.8, "high": 0.95, "critical": 1.0}
)
# Measured (benchmarks/margin.py): on loopback under 8 threads the gap between our
# admission stamp and the server's arrival stamp stayed below 20 ms; 50 ms also covers
# clocks a few tens of ms apart when the shared store's clock is not used.
DEFAULT_SAFETY_MARGIN = 0.05


@dataclass(frozen=True)
class Settings:
    """The adapter's configuration; constructing one validates every field.

    Defaults follow the user's guide: its limit table, 1,000 requests an hour for the
    app, three retries with a backoff base of two seconds.
    """

    limits: Mapping[str, str] = field(default_factory=dict)
    preset: str = "seed"
    app_limit: str | None = PRESET_APP_LIMIT
    storage_uri: str = "memory://"
    key_prefix: str = "tiktok_adapter"
    on_limit: str = "sleep"
    max_wait: float | None = None
    max_retries: int = 3
    backoff_base: float = 2.0
    backoff_max: float = 60.0
    safety_margin: float = DEFAULT_SAFETY_MARGIN
    on_storage_error: str = "fallback"
    storage_time: bool = True
    default_priority: str = "medium"
    priority_shares: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PRIORITY_SHARES)
    )
    rate_limit_codes: frozenset[int] = frozenset({40100})
    cache_expire_after: float = 1800.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits or {})))
        self._check_priorities()
        _non_negative(self.cache_expire_after, "cache_expire_after")
        codes = self.rate_limit_codes
        if isinstance(codes, (str, bytes)) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in codes
        ):
            raise ConfigurationError(
                f"rate_limit_codes={codes!r} must be a set of whole numbers such as {{40100}}"
            )
        object.__setattr__(self, "rate_limit_codes", frozenset(codes))
        get_preset(_text(self.preset, "preset"))
        for path, spec in self.limits.items():
            parse_rates(spec, f"limits[{path!r}]")
        if self.app_limit is not None and self.app_limit != PRESET_APP_LIMIT:
            parse_rates(self.app_limit, "app_limit")
        validate_storage_uri(self.storage_uri)
        _choice(self.on_limit, "on_limit", ON_LIMIT)
        _choice(self.on_storage_error, "on_storage_error", ON_STORAGE_ERROR)
        if not _text(self.key_prefix, "key_prefix") or "{" in self.key_prefix:
            raise ConfigurationError(
                f"key_prefix={self.key_prefix!r} must be a non-empty string without braces"
            )
        if self.max_wait is not None:
            _non_negative(self.max_wait, "max_wait")
        _non_negative(self.backoff_base, "backoff_base")
        _non_negative(self.backoff_max, "backoff_max")
        _non_negative(self.safety_margin, "safety_margin")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise ConfigurationError(
                f"max_retries={self.max_retries!r} must be a whole number of 0 or more"
            )
        if self.max_retries < 0:
            raise ConfigurationError(
                f"max_retries={self.max_retries!r} must be a whole number of 0 or more"
            )
        if not isinstance(self.storage_time, bool):
            raise ConfigurationError(f"storage_time={self.storage_time!r} must be true or false")

    def _check_priorities(self) -> None:
        if isinstance(self.default_priority, str):
            object.__setattr__(self, "default_priority", self.default_priority.lower())
        _choice(self.default_priority, "default_priority", PRIORITY_NAMES)
        shares = dict(DEFAULT_PRIORITY_SHARES)
        for name, share in dict(self.priority_shares or {}).items():
            key = name.lower() if isinstance(name, str) else name
            _choice(key, "priority_shares key", PRIORITY_NAMES)
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
                raise ConfigurationError(
                    f"priority_shares[{name!r}]={share!r} must be a fraction in (0, 1]"
                )
            shares[key] = float(share)
        object.__setattr__(self, "priority_shares", MappingProxyType(shares))

    def __getstate__(self) -> dict[str, Any]:
        # mappingproxy does not pickle; plain dicts do, and __setstate__ re-freezes them.
        return {
            f.name: dict(v) if isinstance(v, MappingProxyType) else v
            for f in fields(self)
            for v in (getattr(self, f.name),)
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    @property
    def effective_app_limit(self) -> str | None:
        if self.app_limit == PRESET_APP_LIMIT:
            return get_preset(self.preset).app_limit
        return self.app_limit

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``; an unknown name raises ConfigurationError."""
        unknown = sorted(set(changes) - FIELD_NAMES)
        if unknown:
            raise ConfigurationError(
                f"unknown setting {unknown[0]!r}; valid settings: " + ", ".join(sorted(FIELD_NAMES))
            )
        return replace(self, **changes)


FIELD_NAMES = frozenset(f.name for f in fields(Settings))


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name}={value!r} must be a string")
    return value


def _choice(value: object, name: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigurationError(
            f"{name}={value!r} is not valid; use one of: " + ", ".join(map(repr, valid))
        )


def _non_negative(value: object, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigurationError(f"{name}={value!r} must be a finite number of seconds, 0 or more")


class SettingsKwargs(TypedDict, total=False):
    """The keywords TikTokAdapter accepts for :class:`Settings` fields."""

    limits: Mapping[str, str]
    preset: str
    app_limit: str | None
    storage_uri: str
    key_prefix: str
    on_limit: str
    max_wait: float | None
    max_retries: int
    backoff_base: float
    backoff_max: float
    safety_margin: float
    on_storage_error: str
    storage_time: bool
    default_priority: str
    priority_shares: Mapping[str, float]
    rate_limit_codes: frozenset[int]
    cache_expire_after: float
