"""requests' headers as the core reads them: any case, no exception on a miss."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of ``name`` in requests' headers, or None: one dict lookup, no view built
    (the priority header, looked up on every request and almost always absent)."""
    store = getattr(headers, "_store", None)
    if isinstance(store, dict):
        item = store.get(name.lower())
        return None if item is None else str(item[1])
    return headers.get(name)


class HeaderView(Mapping[str, str]):
    """A read-only view of a ``requests`` ``CaseInsensitiveDict``.

    The core looks up about six names per answer, and the priority header per request,
    most of them absent. The dict's own
    ``get`` finds a missing name by raising and catching KeyError, which costs more than
    the rest of the lookup; this view asks the dict's lower-cased store directly (and
    falls back to the mapping's own lookups for any other mapping).
    """

    __slots__ = ("_headers", "_store")

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers
        store = getattr(headers, "_store", None)
        self._store: dict[str, tuple[str, str]] | None = store if isinstance(store, dict) else None

    def get(self, key: str, default: Any = None) -> Any:
        store = self._store
        if store is None:
            return self._headers.get(key, default)
        item = store.get(key.lower())
        return default if item is None else item[1]

    def lower_names(self) -> Iterable[str]:
        """Every name, in lower case (see ``parse_rate_headers``)."""
        store = self._store
        return store.keys() if store is not None else [k.lower() for k in self._headers]

    def __getitem__(self, key: str) -> str:
        value: str | None = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)
