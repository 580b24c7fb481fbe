"""The Lua scripts of the Redis store (``lua/*.lua``), their keys, and how to run one.

Every process that shares a quota, sync or async, runs these same scripts on the same
keys, so this module is the one place that knows them. Scripts that take ``now`` as
ARGV[1] start with ``lua/now.lua``: an empty ``now`` means Redis's own clock, which is
the same for every worker whatever their machines' clocks say. Calendar windows (``@utc``)
are the exception: admission and usage count them on the caller's wall clock (an argument
of their own), since TikTok's calendar is UTC, which Redis's clock may be off from.

Blocks are kept one hash per endpoint, one field per kind of block ("ep" for a server's
pause, "q" for a spent quota), so that admission reads both with one HMGET.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

# Why one admission script of our own rather than `limits`' per-item scripts: those
# check and charge one window each, so a request refused by the hour window after the
# minute window's script has run would leave the minute window charged, and two
# workers can interleave between the scripts. Redis runs one script atomically, so
# checking every window and block before charging any makes admission exact and
# all-or-nothing across every process that shares the server. All keys share one hash
# tag, which keeps them on one slot for Redis Cluster.

# Scripts that read ``now`` from ARGV[1] (or Redis's clock when it is empty).
_CLOCKED = frozenset({"acquire", "block", "redate", "usage", "replay"})
_NAMES = ("acquire", "block", "redate", "usage", "refund", "lower", "swap", "members", "replay",
          "fleet")  # fmt: skip


@dataclass(frozen=True)
class Script:
    """A script's text and its SHA1, computed here so no round trip is spent loading it."""

    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> Script:
        return cls(text, hashlib.sha1(text.encode()).hexdigest())


def _load(name: str) -> str:
    return (resources.files(__package__) / "lua" / f"{name}.lua").read_text(encoding="utf-8")


# Scripts that read a calendar window's key (``lua/calendar.lua``).
_CALENDAR = frozenset({"acquire", "usage", "replay", "refund"})
# Scripts that reply with the fleet's roster (``lua/roster.lua``).
_ROSTER = frozenset({"members", "fleet"})
_PRELUDES = (("now", _CLOCKED), ("calendar", _CALENDAR), ("roster", _ROSTER))


def _text(name: str) -> str:
    preludes = [prelude for prelude, users in _PRELUDES if name in users]
    return "".join(_load(part) for part in (*preludes, name))


SCRIPTS = {name: Script.of(_text(name)) for name in _NAMES}


def is_noscript(exc: BaseException) -> bool:
    """Whether ``exc`` says the server has not seen the script (a restarted server, a new
    master after a failover): redis-py and valkey both raise a NoScriptError."""
    return type(exc).__name__ == "NoScriptError"


def run(client: Any, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """Run script ``name`` on a sync client: EVALSHA, and EVAL (which loads it) only when
    the server has not seen it. Errors are the client's."""
    script = SCRIPTS[name]
    try:
        return client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    except Exception as exc:
        if not is_noscript(exc):
            raise
    return client.execute_command("EVAL", script.text, len(keys), *keys, *args)


async def run_async(client: Any, name: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
    """:func:`run` for a ``redis.asyncio`` client."""
    script = SCRIPTS[name]
    try:
        return await client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
    except Exception as exc:
        if not is_noscript(exc):
            raise
    return await client.execute_command("EVAL", script.text, len(keys), *keys, *args)


@dataclass(frozen=True)
class Keys:
    """The store's key names under one hash tag (``{prefix}``): one Cluster slot."""

    tag: str

    @classmethod
    def of(cls, key_prefix: str) -> Keys:
        return cls("{" + key_prefix + "}")

    def window(self, key: str) -> str:
        return f"{self.tag}:w:{key}"

    def block(self, name: str) -> str:
        return f"{self.tag}:b:{name}"

    @property
    def learned(self) -> str:
        return f"{self.tag}:learned"

    @property
    def members(self) -> tuple[str, str]:
        return f"{self.tag}:members", f"{self.tag}:member-states"


def block_slot(block: str) -> tuple[str, str]:
    """(endpoint, field) of a block key: "q:/video/query/" is field "q" of its endpoint's hash."""
    field, colon, name = block.partition(":")
    return (name, field) if colon else (block, "")
