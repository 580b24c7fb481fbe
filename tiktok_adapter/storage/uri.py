"""Storage URIs and store errors as they may be shown: never with a password in them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

# Query parameters that carry a credential (redis-py reads `password=` from the query).
_SECRET_PARAMS = ("pass", "secret", "token", "credential", "auth")
_MAX_DETAIL = 200
# A client object's repr inside a message ("... : <redis.client.Redis(<...>)>").
_REPR = re.compile(r"\s*:?\s*<\w+(?:\.\w+)+[\s(].*$")


def _split(uri: str) -> tuple[str, str, str, str, str]:
    """(scheme, userinfo, hosts, path, query) without parsing hosts, which may be a list."""
    scheme, _, rest = uri.partition("://")
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
              default=len(rest))  # fmt: skip
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, _, hosts = netloc.rpartition("@")
    path, _, query = tail.partition("?")
    return scheme, userinfo, hosts, path.partition("#")[0], query.partition("#")[0]


def _secret_param(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_PARAMS)


def redact_uri(uri: str) -> str:
    """``uri`` with its password (or a user part without one) and credential parameters
    replaced by ***, for messages and reprs."""
    if "://" not in uri:
        return uri
    scheme, userinfo, hosts, path, query = _split(uri)
    if userinfo:
        user, colon, _ = userinfo.partition(":")
        # A user part with no colon may be a password written without one: hide it too.
        hosts = (f"{user}:***" if colon else "***") + "@" + hosts
    shown = f"{scheme}://{hosts}{path}"
    if query:
        params = []
        for pair in query.split("&"):
            name, eq, value = pair.partition("=")
            params.append(f"{name}=***" if eq and value and _secret_param(name) else pair)
        shown += "?" + "&".join(params)
    return shown


def uri_secrets(uri: str) -> tuple[str, ...]:
    """Every credential written in ``uri``, as written and decoded, to mask in messages."""
    if "://" not in uri:
        return ()
    _, userinfo, _, _, query = _split(uri)
    found: list[str] = []
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found.append(password if colon else user)
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if value and _secret_param(name):
            found.append(value)
    found += [unquote(s) for s in found]
    # Longest first, so that a password containing another is masked whole.
    return tuple(sorted({s for s in found if s}, key=len, reverse=True))


def sentinel_service(uri: str) -> str:
    """The Sentinel service named by the path of ``redis+sentinel://hosts/service``."""
    return _split(uri)[3].strip("/") if "://" in uri else ""


def describe_error(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """One line about a store failure: the error's type and the start of its message.

    Clients put whole connection reprs in some messages (a Sentinel's runs to 1,000
    characters); the first line without them, cut short, says what failed. Secrets are masked
    before cutting, so a cut can never leave part of one.
    """
    text = _REPR.sub("", str(exc).split("\n", 1)[0].strip())
    for secret in secrets:
        text = text.replace(secret, "***")
    if len(text) > _MAX_DETAIL:
        text = text[:_MAX_DETAIL] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def storage_scheme(uri: str) -> str:
    """The scheme of a storage URI, lower-cased ("" without one)."""
    return uri.split("://", 1)[0].lower() if "://" in uri else ""
