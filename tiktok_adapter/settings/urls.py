"""URLs in the settings: where a transport is mounted (``base_url``) and a limits key
written as a full URL. Both name TikTok's API hosts, the hosts of the presets. Also the
warnings for a mount that would limit less than meant."""

from __future__ import annotations

import ipaddress
import re
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ..core.endpoints import PRESETS
from ..exceptions import ConfigurationError
from .checks import closest

# Every host of every preset (API, sandbox and upload hosts); a transport mounted
# elsewhere limits nothing sent to TikTok.
TIKTOK_HOSTS = frozenset(host.name for preset in PRESETS.values() for host in preset.hosts)
_EXAMPLE = "https://open.tiktokapis.com/"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class ConfigurationWarning(UserWarning):
    """A setting that works but probably does not do what was meant; the message says
    what happened and what to do. Silence one with ``warnings.filterwarnings``."""


class UnknownHostWarning(ConfigurationWarning):
    """A transport mounted on a host that is not TikTok's API: only requests to that host
    are limited. Expected when the host is your own proxy in front of TikTok."""


class RemountWarning(ConfigurationWarning):
    """``mount()`` replaced another TikTokAdapter on the same host of a session: the new
    adapter counts from empty windows, so the server may see more than a limit in the
    windows the old one had counted in."""


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return None
    return parts


def _host(parts: SplitResult) -> str:
    return (parts.hostname or "").rstrip(".")


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(owner: str, base_url: object, *, stacklevel: int = 3) -> str:
    """``base_url`` if it is an http(s) URL with a host, else ConfigurationError; warns
    (:class:`UnknownHostWarning`) when the host is neither TikTok's API nor loopback (where
    the simulator and local proxies listen). ``stacklevel`` points the warning at the
    caller of ``owner``."""
    parts = _split(base_url) if isinstance(base_url, str) else None
    if (
        not isinstance(base_url, str)
        or parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not _host(parts)
    ):
        hint = ""
        if isinstance(base_url, str) and base_url and not _SCHEME.match(base_url):
            hint = f"; did you mean {'https://' + base_url.lstrip('/')!r}?"
        raise ConfigurationError(
            f"{owner}: base_url={base_url!r} is not valid: it must be an http:// or https:// "
            f"URL with a host, such as {_EXAMPLE!r}{hint}"
        )
    host = _host(parts)
    if host not in TIKTOK_HOSTS and not _loopback(host):
        guess = closest(host, TIKTOK_HOSTS)
        hint = f" (did you mean {guess!r}?)" if guess else ""
        warnings.warn(
            UnknownHostWarning(
                f"{owner}: base_url={base_url!r} is not on a TikTok API host{hint}; only "
                f"requests to {host!r} are limited, and requests sent straight to "
                f"{', '.join(sorted(TIKTOK_HOSTS))} are not. If {host!r} is your own proxy "
                "in front of TikTok, this is expected: silence it with warnings."
                "filterwarnings('ignore', category=UnknownHostWarning)"
            ),
            stacklevel=stacklevel,
        )
    return base_url


def limits_key(key: Any) -> Any:
    """A ``limits`` key written as a URL on a TikTok API host (``https://open.tiktokapis.com/
    v2/user/info/``, or without the scheme) as its path (``/v2/user/info/``); any other key
    as it is. Left whole, such a key is a row that no request's path ever matches, so
    its limit would never apply; a URL on another host is refused for the same reason."""
    if not isinstance(key, str):
        return key  # the endpoint table names what a key must be
    text = key.strip()
    if text.startswith("//"):
        text = "https:" + text
    elif not _SCHEME.match(text):
        first = text.split("/", 1)[0].split(":", 1)[0].lower().rstrip(".")
        if first not in TIKTOK_HOSTS:
            return key  # a path: the usual case
        text = "https://" + text
    parts = _split(text)
    host = _host(parts) if parts is not None else ""
    if parts is None or parts.scheme.lower() not in ("http", "https") or host not in TIKTOK_HOSTS:
        raise ConfigurationError(
            f"limits key {key!r} is a URL, and not one on a TikTok API host "
            f"({', '.join(sorted(TIKTOK_HOSTS))}); key limits by endpoint path, such as "
            "'/user/info/', which applies on any host the transport is mounted on"
        )
    if not parts.path.strip("/"):
        raise ConfigurationError(
            f"limits key {key!r} names no endpoint; use a path such as '/user/info/'"
        )
    return parts.path


def limits_by_path(limits: Mapping[Any, Any]) -> dict[Any, Any]:
    """``limits`` with every key through :func:`limits_key`; two keys that become one
    (a URL and its path) are refused rather than one silently dropped."""
    found: dict[Any, Any] = {}
    given: dict[Any, Any] = {}
    for key, spec in limits.items():
        path = limits_key(key)
        if path in found:
            raise ConfigurationError(
                f"limits keys {given[path]!r} and {key!r} both name {path!r}; give only one"
            )
        found[path], given[path] = spec, key
    return found
