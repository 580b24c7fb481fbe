"""The errors the core raises: the package's base error and a bad setting.

They live here so that the core imports nothing outside itself; the public module,
``tiktok_adapter.exceptions``, re-exports them beside the rest of the tree.
"""

from __future__ import annotations


class TikTokAdapterError(Exception):
    """Base class of every error raised by tiktok_adapter."""


class ConfigurationError(TikTokAdapterError, ValueError):
    """A setting is invalid; the message names the setting, the value and what is valid."""
