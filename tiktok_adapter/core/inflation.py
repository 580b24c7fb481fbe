"""How many compressed bytes to decode at a time, so that a compression bomb cannot balloon.

A body read for the adapter's own purposes is decoded no further than 64 KiB; each
transport decodes it a step at a time and stops past the cap, so the most one step can
inflate to is the most that is ever held. Gzip and deflate inflate about 1,000 times a
step; zstd up to 128 KiB per 4-byte block; brotli up to a 16 MiB meta-block in a few
bytes (8 MiB from a step of 16 bytes of 1 GiB of zeros). A coding not in the table (or
one a library adds later) takes the smallest step.
"""

from __future__ import annotations

from types import MappingProxyType

_ZLIB = 1024
STEPS = MappingProxyType(
    {"": _ZLIB, "identity": _ZLIB, "gzip": _ZLIB, "x-gzip": _ZLIB, "deflate": _ZLIB}
    | {"zstd": 128, "br": 16}
)
LEAST_STEP = 16


def codings(content_encoding: str) -> frozenset[str]:
    """The codings a Content-Encoding names, in lower case ("" when it names none)."""
    return frozenset(c.strip().lower() for c in content_encoding.split(","))


def step(content_encoding: str) -> int:
    """The compressed bytes to decode at a time for a body with this Content-Encoding."""
    return min(STEPS.get(coding, LEAST_STEP) for coding in codings(content_encoding))
