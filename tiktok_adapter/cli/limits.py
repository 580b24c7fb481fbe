"""``tiktok-adapter limits``: the effective limit table of a preset or of a settings file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..core.endpoints import PRESETS, Endpoint, EndpointTable, Preset, get_preset
from ..exceptions import ConfigurationError
from ..settings import Settings
from .output import Column, Output, TextTable


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "limits", help="print the effective limit table",
        description="Print the effective limit table: each endpoint's limits, whether it is "
        "read-only (safe to re-send and cache), whether it counts toward the app-wide "
        "limit, which paths that app limit covers, and the hosts it applies on (production, "
        "sandbox, upload) with how each counts. With --config, the table the "
        "adapter builds from a settings file (the preset and tier it names, with its "
        "limits merged over the preset's).",
    )  # fmt: skip
    parser.add_argument("--preset", default=None, choices=sorted(PRESETS),
                        help="the preset (default: the file's, or seed)")  # fmt: skip
    parser.add_argument("--tier", default=None, help="Business API tier (with --preset business)")
    parser.add_argument(
        "--config", metavar="FILE", default=None,
        help="a settings file: setup.cfg, tox.ini or any INI file with a [tiktok_adapter] "
        "section, or pyproject.toml with [tool.tiktok_adapter]",
    )  # fmt: skip
    parser.add_argument("--section", default=None,
                        help="the section or table of FILE to read (with --config)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=run)


def effective_settings(args: argparse.Namespace) -> Settings:
    """The settings the table comes from: the file's, with --preset and --tier over them."""
    if args.config is None:
        if args.section is not None:
            raise ConfigurationError("--section names a part of a settings file: add --config FILE")
        return Settings(preset=args.preset or "seed", tier=args.tier)
    settings = Settings.from_file(args.config, section=args.section)
    if args.preset is not None:
        # A new preset drops the file's tier unless --tier names one again.
        return settings.replace(preset=args.preset, tier=args.tier)
    if args.tier is not None:
        return settings.replace(tier=args.tier)
    return settings


def app_scope(preset: Preset, app_limit: str | None) -> str:
    """One line saying what the app-wide limit counts, e.g. "covers /research/ (not /oauth/)"."""
    if not app_limit:
        return "no app limit"
    covers = "every path" if preset.app_covers == ("/",) else ", ".join(preset.app_covers)
    exempt = f" (not {', '.join(preset.app_exempt)})" if preset.app_exempt else ""
    return f"app limit {app_limit} covers {covers}{exempt}"


def counts_toward_app(preset: Preset, endpoint: Endpoint, app_limit: str | None) -> bool:
    return bool(app_limit) and endpoint.counts_toward_app and preset.app_counts(endpoint.path)


def run(args: argparse.Namespace) -> int:
    settings = effective_settings(args)
    preset = get_preset(settings.preset, settings.tier)
    endpoints = list(EndpointTable.build(preset, settings.limits))
    app_limit = settings.effective_app_limit
    if args.json:
        rows = [
            {"endpoint": e.path, "limits": e.limits, "read_only": e.read_only,
             "counts_toward_app": counts_toward_app(preset, e, app_limit)}
            for e in endpoints
        ]  # fmt: skip
        doc = {
            "preset": preset.name,
            "settings_file": args.config,
            "app_limit": app_limit,
            "app_covers": list(preset.app_covers),
            "app_exempt": list(preset.app_exempt),
            "base_url": preset.base_url,
            "hosts": [
                {"host": h.name, "kind": h.kind.value, "counting": h.kind.counting}
                for h in preset.hosts
            ],
            "endpoints": rows,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    title = f"{preset.name}: {preset.description}"
    columns = ("endpoint", "limits", "read-only", "counts toward app")
    table = TextTable(title, tuple(Column(c) for c in columns))
    for e in endpoints:
        app = counts_toward_app(preset, e, app_limit)
        table.add_row(e.path, e.limits, _yes(e.read_only), _yes(app))
    out = Output()
    out.table(table)
    out.line(app_scope(preset, app_limit))
    out.line(f"base URL: {preset.base_url}")
    for h in preset.hosts:
        out.line(f"host {h.name} ({h.kind.value}): {h.kind.counting}")
    if args.config is not None:
        out.line(f"settings file: {args.config}")
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
