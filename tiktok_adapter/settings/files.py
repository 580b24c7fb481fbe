"""Reading adapter settings from INI files (setup.cfg, tox.ini) and pyproject.toml."""

from __future__ import annotations

import configparser
import sys
from os import PathLike
from pathlib import Path
from typing import Any

from ..exceptions import ConfigurationError
from .loaders import KEYS, Layer, make_layer, shown, valid_keys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


def file_layer(path: str | PathLike[str], section: str | None) -> Layer:
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"settings file {str(file)!r} does not exist")
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".toml":
        return _toml_layer(file, text, section)
    return _ini_layer(file, text, section or "tiktok_adapter")


def _toml_layer(file: Path, text: str, section: str | None) -> Layer:
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file}: not valid TOML: {exc}") from None
    candidates = [section] if section else ["tool.tiktok_adapter", "tiktok_adapter"]
    for name in candidates:
        table: Any = data
        for part in name.split("."):
            table = table.get(part) if isinstance(table, dict) else None
        if isinstance(table, dict):
            where = f"{file} [{name}]"
            items = []
            for key, value in table.items():
                if key not in KEYS:
                    raise ConfigurationError(f"{where}: unknown key {key!r}; {valid_keys(key)}")
                label = (
                    f"{file} [{name}.{key}]"
                    if isinstance(value, dict)
                    else f"{where} key {key!r}={shown(key, value)}"
                )
                items.append((key, value, label))
            return make_layer(items)
    raise ConfigurationError(f"{file} has no [{candidates[0]}] table of tiktok_adapter settings")


def _ini_layer(file: Path, text: str, section: str) -> Layer:
    # A real [DEFAULT] would leak its keys into our section, so no section is special.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0")
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, source=str(file))
    except configparser.Error as exc:
        raise ConfigurationError(f"{file}: not a valid INI file: {exc}") from None
    if not parser.has_section(section):
        raise ConfigurationError(f"{file} has no [{section}] section of tiktok_adapter settings")
    items: list[tuple[str, Any, str]] = []
    for key, value in parser.items(section):
        name = key.strip().lower().replace("-", "_")
        if name not in KEYS:
            raise ConfigurationError(f"{file} [{section}]: unknown key {key!r}; {valid_keys(name)}")
        items.append((name, value, f"{file} [{section}] key {key!r}={shown(name, value)}"))
    for sub in parser.sections():
        if not sub.startswith(section + "."):
            continue
        name = sub[len(section) + 1 :]
        if name not in ("limits", "priority_shares"):
            raise ConfigurationError(
                f"{file}: section [{sub}] is not known; valid sections: [{section}], "
                f"[{section}.limits], [{section}.priority_shares]"
            )
        table = dict(parser.items(sub))
        items.append((name, table, f"{file} [{sub}]"))
    return make_layer(items)
