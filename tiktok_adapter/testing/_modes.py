"""Which preset, tier and API family a simulator runs, resolved from what the caller asked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .._endpoints import Endpoint, Preset, get_preset, normalize_path
from ._business import BUSINESS_API
from ._family import Family
from ._v2 import V2

FAMILIES: Mapping[str, Family] = MappingProxyType({"v2": V2, "business": BUSINESS_API})
# Each preset's API family, and the preset each family starts from when none is named.
PRESET_FAMILY: Mapping[str, str] = MappingProxyType(
    {
        "seed": "v2",
        "display-v2": "v2",
        "research": "v2",
        "content-posting": "v2",
        "business": "business",
    }
)
FAMILY_PRESET: Mapping[str, str] = MappingProxyType({"v2": "seed", "business": "business"})


@dataclass(frozen=True)
class Mode:
    """A resolved simulator mode: the preset (with its tier) and the family that answers."""

    preset_name: str
    tier: str | None
    preset: Preset
    api: str
    family: Family

    def endpoints(self, limits: Mapping[str, str] | None) -> list[Endpoint]:
        """The table: the preset's rows, or ``limits`` as the whole table.

        Rows that ``limits`` shares with the preset keep the preset's flags, so an
        endpoint outside the app budget stays outside it.
        """
        if limits is None:
            return list(self.preset.endpoints)
        known = {normalize_path(e.path): e for e in self.preset.endpoints}
        rows = []
        for path, spec in limits.items():
            row = known.get(normalize_path(path))
            rows.append(
                Endpoint(path, spec, row.read_only, row.counts_toward_app)
                if row
                else Endpoint(path, spec)
            )
        return rows


def resolve_mode(
    preset: str | None = None, tier: str | None = None, api: str | None = None
) -> Mode:
    """The mode for ``preset``/``tier``/``api``; each left out follows from the others.

    Raises ValueError (a ConfigurationError for presets and tiers) on unknown names.
    """
    if api is not None and api not in FAMILIES:
        raise ValueError(f"api={api!r} is not an API family; use one of: {', '.join(FAMILIES)}")
    name = preset or FAMILY_PRESET[api or "v2"]
    found = get_preset(name, tier)
    family = api or PRESET_FAMILY.get(name, "v2")
    return Mode(name, tier, found, family, FAMILIES[family])
