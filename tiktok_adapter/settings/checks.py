"""Settings' bounds, small validators and the one reader of values written as text.

Every error names the setting, the value and what is valid. Settings runs every field
through :func:`read_text`, and so do the loaders, so a value reads the same from code,
a dict, the environment or a file.
"""

from __future__ import annotations

import difflib
import inspect
import json
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from ..core.rates import DAY
from ..exceptions import ConfigurationError

# Bounds: far beyond any real use, yet tight enough that nothing downstream overflows.
# A window's end must stay a timestamp that datetime can show, a sleep must stay under
# the threading timeout limit, and Redis keeps expiries as whole milliseconds.
MAX_RETRIES = 100
# setting: (largest value in seconds, the same in words)
MAX_SECONDS: Mapping[str, tuple[int, str]] = MappingProxyType(
    {
        "safety_margin": (60, "a minute"),
        "backoff_base": (DAY, "a day"),
        "backoff_max": (DAY, "a day"),  # a server-named wait is held to a day as well
        "max_wait": (7 * DAY, "a week"),
        "cache_expire_after": (365 * DAY, "a year"),
    }
)
INTS = frozenset({"max_retries"})
OPTIONAL = frozenset({"max_wait", "app_limit", "tier"})
NONE = frozenset({"none", "null"})
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
_LIMITS_EXAMPLE = "'/video/query/=10/minute;100/hour,/user/info/=5/minute'"
_SHARES_EXAMPLE = "'low=0.5,medium=0.8' or a JSON object"

Bad = Callable[[str], ConfigurationError]


def closest(key: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to a mistyped ``key``, for every "did you mean" we print."""
    match = difflib.get_close_matches(key, sorted(valid), n=1)
    return match[0] if match else None


def keywords_of(function: Callable[..., Any]) -> frozenset[str]:
    """The names ``function`` takes by keyword, from its signature (not ``self``, not
    ``**kwargs``), so an entry point's own keywords are never listed twice by hand."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(function).parameters.values()
    return frozenset(p.name for p in params if p.kind in kinds and p.name != "self")


def check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name}={value!r} must be a string")
    return value


def check_choice(value: object, name: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigurationError(
            f"{name}={value!r} is not valid; use one of: " + ", ".join(map(repr, valid))
        )


def check_seconds(value: object, name: str) -> None:
    """A duration within its bound of MAX_SECONDS; NaN and infinities fail the comparison."""
    most, words = MAX_SECONDS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= most:
        raise ConfigurationError(
            f"{name}={value!r} must be a number of seconds from 0 to {most:,} ({words})"
        )


def check_retries(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise ConfigurationError(f"{name}={value!r} must be a whole number from 0 to {MAX_RETRIES}")


def number(value: object, kind: type[int] | type[float]) -> int | float | None:
    """``value`` (a number or its text) as ``kind``, or None when it is not one.

    A whole float counts as an int; an int stays an int for a float setting, so that a
    huge one reaches the bound check instead of overflowing here.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if kind is float:
            return value
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return None
    return None


def read_text(name: str, value: Any) -> Any:
    """``value`` for the setting ``name``, with text read the way the README describes.

    Values that are already of the setting's type pass unchanged, so reading twice is
    harmless; a value that is neither raises ConfigurationError naming the setting.
    """

    def bad(what: str) -> ConfigurationError:
        return ConfigurationError(f"{name}={value!r} must be {what}")

    if not isinstance(value, str):
        if name == "rate_limit_codes" and isinstance(value, int) and not isinstance(value, bool):
            return frozenset({value})
        if name == "priority_shares" and isinstance(value, Mapping):
            return _shares(value, bad)
        return value
    text = value.strip()
    if name in OPTIONAL and text.lower() in NONE:
        return None
    if name in INTS or name in MAX_SECONDS:
        found = number(text, int if name in INTS else float)
        if found is None:
            raise bad("a whole number such as 3" if name in INTS else "a number such as 2.5")
        return found
    if name in ("storage_time", "learn_limits"):
        if text.lower() not in TRUE | FALSE:
            raise bad("true or false (also 1/0, yes/no, on/off)")
        return text.lower() in TRUE
    if name == "limits":
        return pairs(text, bad, _LIMITS_EXAMPLE)
    if name == "priority_shares":
        return _shares(pairs(text, bad, _SHARES_EXAMPLE), bad)
    if name == "rate_limit_codes":
        return _codes(text, bad)
    return text


def pairs(value: str, bad: Bad, example: str) -> dict[str, Any]:
    """'a=1,b=2' (commas or new lines) or a JSON object; a part without '=' continues the last."""
    if value.startswith("{"):
        try:
            loaded = json.loads(value)
        except ValueError as exc:
            raise bad(f"a JSON object ({exc}) or pairs like {example}") from None
        if not isinstance(loaded, dict):
            raise bad(f"a JSON object or pairs like {example}")
        return loaded
    found: dict[str, Any] = {}
    last = None
    for part in (p.strip() for p in re.split(r"[,\n]", value)):
        if "=" in part:
            last, spec = (x.strip() for x in part.split("=", 1))
            found[last] = spec
        elif part and last is not None:
            found[last] += ";" + part
        elif part:
            raise bad(f"pairs like {example}; {part!r} has no '='")
    return found


def _shares(shares: Mapping[Any, Any], bad: Bad) -> dict[Any, Any]:
    converted = {k: number(v, float) if isinstance(v, str) else v for k, v in shares.items()}
    if any(v is None for v in converted.values()):
        raise bad("fractions in (0, 1], such as 'low=0.5,medium=0.8'")
    return converted


def _codes(text: str, bad: Bad) -> frozenset[int]:
    try:
        parts = json.loads(text) if text.startswith("[") else re.split(r"[\s,;]+", text)
    except ValueError:
        parts = [None]
    codes = [number(p, int) for p in parts if p != ""] if isinstance(parts, list) else []
    if not codes or not all(isinstance(c, int) for c in codes):
        raise bad("whole numbers such as '40100,40101' or a JSON list")
    return frozenset(c for c in codes if isinstance(c, int))
