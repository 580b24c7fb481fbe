"""Which preset, tier and API family a simulator runs, resolved from what the caller asked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..core.endpoints import Endpoint, EndpointTable, Preset, get_preset
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
        """The table: ``limits`` merged over the preset's rows, as the adapter merges it.

        A row ``limits`` shares with the preset keeps the preset's flags, so an endpoint
        outside the app budget stays outside it; a new path becomes a row of its own.
        """
        return list(EndpointTable.build(self.preset, limits))


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
