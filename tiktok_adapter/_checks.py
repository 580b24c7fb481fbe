"""Small validators whose errors name the setting, the value and what is valid."""

from __future__ import annotations

import math

from .exceptions import ConfigurationError


def check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name}={value!r} must be a string")
    return value


def check_choice(value: object, name: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigurationError(
            f"{name}={value!r} is not valid; use one of: " + ", ".join(map(repr, valid))
        )


def check_non_negative(value: object, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigurationError(f"{name}={value!r} must be a finite number of seconds, 0 or more")
