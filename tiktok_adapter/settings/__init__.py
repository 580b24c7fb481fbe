"""Configuration: one immutable, validated Settings object, from code, env, files or dicts.

``base`` holds the fields and their checks, ``checks`` the readers of text values and
the bounds, ``loaders`` the layers (mappings, environment) and their merge, ``files`` the
INI and TOML readers, and ``model`` the :class:`Settings` class users build. Loaders
import the fields, never the reverse.
"""

from __future__ import annotations

from .base import (
    DEFAULT_PRIORITY_SHARES,
    DEFAULT_SAFETY_MARGIN,
    ENV_PREFIX,
    FIELD_NAMES,
    SettingsKwargs,
    check_keywords,
    redact,
)
from .model import Settings
from .urls import (
    TIKTOK_HOSTS,
    ConfigurationWarning,
    RemountWarning,
    UnknownHostWarning,
    check_base_url,
)

__all__ = [
    "DEFAULT_PRIORITY_SHARES",
    "DEFAULT_SAFETY_MARGIN",
    "ENV_PREFIX",
    "FIELD_NAMES",
    "TIKTOK_HOSTS",
    "ConfigurationWarning",
    "RemountWarning",
    "Settings",
    "SettingsKwargs",
    "UnknownHostWarning",
    "check_base_url",
    "check_keywords",
    "redact",
]
