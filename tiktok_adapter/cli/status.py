"""``tiktok-adapter status``: each endpoint's live budget from a shared store."""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from ..adapter import TikTokAdapter
from ..core.budget import Budget, WindowBudget
from ..exceptions import StorageUnavailable
from ..storage.uri import redact_uri, storage_scheme
from .output import Column, Output, TextTable
from .status_store import StoreReport
from .status_store import read as read_health
from .status_store import render as render_health


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="print each endpoint's remaining budget from a (shared) limiter storage",
        description="Read every window of the limit table from the storage and print what "
        "remains of it; on Redis this is the whole fleet's budget, followed by the store's "
        "health: answering or degraded, and the fleet that shares it.",
    )
    parser.add_argument("--storage", default="memory://", help="limiter storage URI")
    parser.add_argument("--key-prefix", default="tiktok_adapter", help="the fleet's key prefix")
    parser.add_argument("--preset", default="seed", help="limit table preset")
    parser.add_argument("--tier", default=None, help="Business API tier (preset business)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        "storage_uri": args.storage,
        "key_prefix": args.key_prefix,
        "preset": args.preset,
        "on_storage_error": "raise",
    }
    if args.tier:
        options["tier"] = args.tier
    # A store that cannot be reached raises StorageUnavailable, here or at the first read;
    # the command line turns any of the package's errors into one line and exit status 1.
    adapter = TikTokAdapter(**options)
    try:
        budget = adapter.budget()
        health = read_health(adapter.store, args.storage)
    except StorageUnavailable as exc:
        # The workers on this store limit alone while it does not answer: say so plainly.
        raise StorageUnavailable(
            f"limiter degraded: {exc}", retry_after=0.0, endpoint="*", limit="storage"
        ) from None
    finally:
        adapter.close()
    found = found_anything(budget, health)
    note = None if found else nothing_found(args.storage, args.key_prefix)
    if args.json:
        report = budget.as_dict()
        report["found"] = found
        if note is not None:
            report["note"] = note
        if health is not None:
            report["storage"] = health.as_dict()
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
    else:
        out = Output()
        render(budget, out)
        if note is not None:
            out.line(note, style="yellow")
        if health is not None:
            render_health(health, out)
    return 0


def found_anything(budget: Budget, health: StoreReport | None) -> bool:
    """Whether the store holds anything of this fleet: a window with a request in it, a
    block, a learned limit, or a process that has used it lately.

    A typo'd key prefix reads as a fleet that sent nothing: a table of full budgets.
    """
    windows = [*budget.app, *(w for e in budget.endpoints.values() for w in e.windows)]
    return (
        any(w.used > 0 or w.learned is not None for w in windows)
        or any(e.blocked_until for e in budget.endpoints.values())
        or bool(health is not None and health.members)
    )


def nothing_found(storage: str, key_prefix: str) -> str:
    """One line saying that nothing was found, and where; never the store's password."""
    where = f"no windows found under key prefix {key_prefix!r} in {redact_uri(storage)}"
    if storage_scheme(storage) == "memory":
        # Each process has a memory store of its own: this command's is always empty.
        return f"{where}, which only this command uses; give the fleet's store with --storage"
    return f"{where}; are --key-prefix and --preset the fleet's?"


def _when(window: WindowBudget, now: float) -> str:
    if window.used == 0:
        return "-"
    moment = datetime.datetime.fromtimestamp(window.resets_at, tz=datetime.timezone.utc)
    return f"{moment:%H:%M:%S} UTC (in {max(window.resets_at - now, 0):.0f} s)"


def _learned(window: WindowBudget, shown: bool) -> tuple[str, ...]:
    if not shown:
        return ()
    return ("" if window.learned is None else str(window.learned),)


def render(budget: Budget, out: Output | None = None) -> None:
    # "learned" is what a window admits after refusals taught a lower limit than the
    # configured one; the column appears only when some window has learned one.
    windows = [*budget.app, *(w for e in budget.endpoints.values() for w in e.windows)]
    learned = any(w.learned is not None for w in windows)
    columns = ("endpoint", "window", *(("learned",) if learned else ()), "used", "remaining",
               "resets", "blocked")  # fmt: skip
    table = TextTable(
        "tiktok_adapter budget",
        tuple(Column(c, right=c not in ("endpoint", "window")) for c in columns),
    )
    now = budget.taken_at
    for window in budget.app:
        table.add_row("app", window.limit, *_learned(window, learned), str(window.used),
                      str(window.remaining), _when(window, now), "")  # fmt: skip
    for name, endpoint in sorted(budget.endpoints.items()):
        blocked = f"{endpoint.blocked_until - now:.0f} s" if endpoint.blocked_until else ""
        for window in endpoint.windows:
            table.add_row(name, window.limit, *_learned(window, learned), str(window.used),
                          str(window.remaining), _when(window, now), blocked)  # fmt: skip
            name, blocked = "", ""
    (out or Output()).table(table)
