"""Layers of settings from mappings and environment variables, merged and validated once."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

from ..core.endpoints import get_preset, normalize_path
from ..core.rates import MAX_AMOUNT, parse_rates
from ..exceptions import ConfigurationError
from .base import FIELD_NAMES, FieldError, SettingsBase, redact
from .checks import NONE, closest, number, read_text
from .urls import limits_key

logger = logging.getLogger(__name__)

# The guide's RATE_LIMIT_CONFIG keys. requests_per_minute is not a field: it becomes a
# per-minute ceiling on every endpoint of the table once the final preset is known.
PER_MINUTE = "requests_per_minute"
ALIASES: Mapping[str, str] = {
    "requests_per_hour": "app_limit",
    "backoff_base_delay": "backoff_base",
    "cache_duration_minutes": "cache_expire_after",
    PER_MINUTE: PER_MINUTE,
}
KEYS = frozenset(FIELD_NAMES | set(ALIASES))
RESERVED_ENV = "TEST_"  # TIKTOK_ADAPTER_TEST_* belongs to the test suite


class Entry(NamedTuple):
    """One setting as a source gave it; ``label`` names the source, the key and the raw value."""

    value: Any
    label: str


Layer = dict[str, Entry]
_S = TypeVar("_S", bound=SettingsBase)


def build(cls: type[_S], layers: Iterable[Layer]) -> _S:
    """Merge ``layers`` (lowest precedence first), expand the aliases, validate once."""
    merged: Layer = {}
    for layer in layers:
        merged.update(layer)
    for name, given in sorted(merged.items()):
        logger.debug("setting %s from %s", name, given.label.split("=", 1)[0])
    values = {name: e.value for name, e in merged.items() if name in FIELD_NAMES}
    cap = merged.get(PER_MINUTE)
    if cap is not None and cap.value is not None:
        values["limits"] = _with_ceiling(values, cap.value)
    try:
        return cls(**values)
    except FieldError as exc:
        entry = merged.get(exc.field)
        if entry is None:
            raise ConfigurationError(str(exc)) from None
        raise ConfigurationError(f"{entry.label}: {exc}") from None


def _with_ceiling(values: Mapping[str, Any], per_minute: int) -> dict[str, str]:
    """Every table endpoint that ``limits`` does not name, capped at ``per_minute``."""
    limits = dict(values.get("limits") or {})
    try:
        preset = get_preset(values.get("preset", "seed"), values.get("tier"))
    except (ConfigurationError, TypeError):
        return limits  # Settings reports the bad preset or tier with its source
    named = {_row(p) for p in limits if isinstance(p, str)}
    for endpoint in preset.endpoints:
        if normalize_path(endpoint.path) in named:
            continue
        parts, capped = [], False
        for rate in parse_rates(endpoint.limits, endpoint.path):
            if rate.scope == "app" and not rate.calendar and rate.period == 60:
                capped = True
                parts.append(f"{per_minute}/minute" if rate.amount > per_minute else rate.text)
            else:
                parts.append(rate.text)
        if not capped:
            parts.append(f"{per_minute}/minute")
        limits[endpoint.path] = ";".join(parts)
    return limits


def _row(key: str) -> str:
    """The table row a limits key names, a key written as a full URL included."""
    try:
        return normalize_path(limits_key(key))
    except ConfigurationError:
        return key  # Settings refuses it, naming its source


# -- sources ----------------------------------------------------------------------------


def mapping_layer(data: Mapping[str, Any], source: str, *, typed: bool = False) -> Layer:
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{source}: expected a mapping of settings, got {data!r}")
    items = []
    for key, value in data.items():
        if key not in KEYS:
            raise ConfigurationError(f"{source}: unknown key {key!r}; {valid_keys(key)}")
        text = shown(key, value)
        label = f"{source} {key}={text}" if typed else f"{source} key {key!r}={text}"
        items.append((key, value, label))
    return make_layer(items)


def env_layer(prefix: str, environ: Mapping[str, str] | None) -> Layer:
    env = os.environ if environ is None else environ
    items = []
    for var in sorted(env):
        if not var.upper().startswith(prefix.upper()):
            continue
        key = var[len(prefix) :].lower()
        if key.startswith(RESERVED_ENV.lower()) or not env[var].strip():
            continue  # reserved for the test suite; an empty variable counts as unset
        if key not in KEYS:
            valid = ", ".join(prefix + k.upper() for k in sorted(KEYS))
            hint = closest(key, KEYS)
            raise ConfigurationError(
                f"environment variable {var} is not a tiktok_adapter setting"
                f"{' (did you mean ' + prefix + hint.upper() + '?)' if hint else ''}; "
                f"valid variables: {valid}; {prefix}{RESERVED_ENV}* is reserved for tests"
            )
        items.append((key, env[var], f"environment variable {var}={shown(key, env[var])}"))
    return make_layer(items)


# -- turning one source's keys into fields ----------------------------------------------


def make_layer(items: Iterable[tuple[str, Any, str]]) -> Layer:
    layer: Layer = {}
    for key, raw, label in items:
        name = ALIASES.get(key, key)
        if name in layer:
            raise ConfigurationError(
                f"{layer[name].label} and {label} both set {name}; give only one of them"
            )
        layer[name] = Entry(_convert(key, name, raw, label), label)
    return layer


def _convert(key: str, name: str, raw: Any, label: str) -> Any:
    def bad(what: str) -> ConfigurationError:
        return ConfigurationError(f"{label}: {key} must be {what}")

    value = raw.strip() if isinstance(raw, str) else raw
    if key in ("requests_per_hour", PER_MINUTE):
        if isinstance(value, str) and value.lower() in NONE:
            return None
        amount = number(value, int)
        if not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
            raise bad(f"a whole number of requests from 1 to {MAX_AMOUNT:,}")
        return amount if key == PER_MINUTE else f"{amount}/hour"
    if key == "cache_duration_minutes":
        minutes = number(value, float)
        if minutes is None:
            raise bad("a number of minutes such as 30")
        return minutes * 60
    try:  # the very reader Settings applies to its fields, so code reads text the same
        value = read_text(name, raw)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{label}: {exc}") from None
    if name == "limits" and isinstance(value, Mapping):
        _check_limits(value, label)
    return value


def _check_limits(limits: Mapping[Any, Any], label: str) -> None:
    for path, spec in limits.items():
        try:
            parse_rates(spec, f"limits[{path!r}]")
        except ConfigurationError as exc:
            raise ConfigurationError(f"{label}: {exc}") from None


def shown(key: str, value: Any) -> str:
    return repr(redact(value) if key == "storage_uri" else value)


def valid_keys(key: str) -> str:
    hint = closest(key, KEYS)
    guess = f"did you mean {hint!r}? " if hint else ""
    return guess + "valid keys: " + ", ".join(sorted(KEYS))
