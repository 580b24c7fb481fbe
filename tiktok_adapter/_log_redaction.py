"""Tokens out of other libraries' log records: a logging filter and ``redact_tokens()``.

The adapter never logs a URL, header or body, but urllib3's connection pool and
requests-cache log full URLs (``?access_token=...``) at DEBUG. This filter rewrites
any record that passes it, so whatever a handler writes has the token replaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from .core.credentials import CREDENTIAL_HEADERS, CREDENTIAL_PARAMS

REDACTED = "REDACTED"

# The loggers that write request URLs: urllib3 ("Starting new HTTPS connection", the
# request line), requests-cache (URLs it matches, skips or deletes), and the simulator's
# request log. A logger's filter never sees its children's records, so the children
# that log are named here; they are created now if their module is not imported yet.
DEFAULT_LOGGERS = (
    "urllib3",
    "urllib3.connection",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
    "requests_cache",
    "requests_cache.backends.base",
    "requests_cache.policy.actions",
    "requests_cache.policy.expiration",
    "requests_cache.session",
    "tiktok_adapter.testing.server",
)
_FAMILIES = ("urllib3", "requests_cache")


def _names(names: frozenset[str]) -> str:
    # Underscores may arrive percent-encoded (%5F) in a URL.
    spelled = (re.escape(n).replace("_", "(?:_|%5[Ff])") for n in sorted(names, key=len))
    return "|".join(reversed(list(spelled)))


# One pass over the text. Each alternative keeps its name and separator and replaces
# only the secret, so a redacted text still reads as what it was.
_PATTERN = re.compile(
    # Authorization: Bearer x / 'Access-Token': 'x' / X-Api-Key=x (headers, dict reprs)
    rf"(?P<head>\b(?:{_names(CREDENTIAL_HEADERS)})\\?['\"]?\s*[:=]\s*\\?['\"]?"
    r"(?:(?:basic|digest|negotiate|token)\s+)?)"
    # access_token=x (query, form body) / "access_token": "x" (JSON, dict reprs)
    rf"|(?P<param>(?<![A-Za-z0-9_])(?:{_names(CREDENTIAL_PARAMS)})"
    r"(?:=|\\?['\"]?\s*:\s*\\?['\"]?))"
    # Bearer x anywhere (a header value logged on its own)
    r"|(?P<bearer>\bbearer\s+)",
    re.IGNORECASE,
)
_SECRET = re.compile(r"[^\s'\"&,;#}\]\\]+")


def redact_text(text: str) -> str:
    """``text`` with every credential it shows replaced by ``REDACTED``."""
    if not _PATTERN.search(text):
        return text
    out: list[str] = []
    pos = 0
    for found in _PATTERN.finditer(text):
        start = found.end()
        if start < pos:
            continue
        out.append(text[pos:start])
        # "Authorization: Bearer x": the Bearer alternative matches right after the head.
        bearer = re.match(r"bearer\s+", text[start:], re.IGNORECASE)
        if bearer:
            out.append(bearer.group())
            start += bearer.end()
        secret = _SECRET.match(text, start)
        if secret and secret.group() != REDACTED:
            out.append(REDACTED)
            pos = secret.end()
        else:
            pos = start
    out.append(text[pos:])
    return "".join(out)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        text = value.decode("latin-1")
        clean = redact_text(text)
        return value if clean == text else clean.encode("latin-1")
    return value


def redact_record(record: logging.LogRecord) -> None:
    """Rewrite ``record`` in place: message, arguments, and its exception and stack text."""
    args = record.args
    if not args:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
    # With arguments the format string is left alone ("access_token=%s" must keep its
    # "%s"); the arguments are redacted, then the formatted message is checked below.
    elif isinstance(args, Mapping):
        record.args = {key: _redact_value(value) for key, value in args.items()}
    elif isinstance(args, tuple):
        record.args = tuple(_redact_value(value) for value in args)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a bad format string: the handler reports it
        message = None
    if message is not None:
        clean = redact_text(message)
        if clean != message:
            # An argument's str() or repr() showed a token: keep the formatted text only.
            record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        clean = redact_text(text)
        if clean != text:
            record.exc_text = clean
    elif record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


class TokenRedactingFilter(logging.Filter):
    """A logging filter that lets every record through with its tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_FILTER = TokenRedactingFilter()


def redact_tokens(*loggers: str) -> TokenRedactingFilter:
    """Redact access tokens from urllib3's and requests-cache's log records (and ``loggers``).

    Attaches one shared filter to each logger of :data:`DEFAULT_LOGGERS`, to every
    logger that exists under urllib3 and requests_cache, and to each name given.
    Calling it again attaches nothing twice. A filter on a logger sees only that
    logger's own records, not its children's: for every record, present or future,
    also add the returned filter to your handlers (``handler.addFilter(...)``).
    """
    names = set(DEFAULT_LOGGERS) | set(loggers)
    families = (*_FAMILIES, *loggers)
    names.update(
        name
        for name in list(logging.Logger.manager.loggerDict)
        if any(name.startswith(family + ".") for family in families)
    )
    for name in sorted(names):
        logging.getLogger(name).addFilter(_FILTER)  # addFilter skips one already there
    return _FILTER
