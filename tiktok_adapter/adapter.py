"""TikTokAdapter, the requests transport: a requests ``HTTPAdapter`` that keeps every call
inside TikTok's limits. It is built in ``_requests/`` with its parts (bounded body reads,
its exception flavour, mount() and install()); this is its public home.
"""

from __future__ import annotations

from ._requests.adapter import OPEN_API_BASE, TikTokAdapter
from ._requests.install import Installation
from ._requests.mounting import HostRouter
from ._requests.problems import QuotaExhausted, RateLimitExceeded, StorageUnavailable

__all__ = [
    "OPEN_API_BASE",
    "HostRouter",
    "Installation",
    "QuotaExhausted",
    "RateLimitExceeded",
    "StorageUnavailable",
    "TikTokAdapter",
]

# Pickles, reprs and tracebacks name the public module, as they did before the move.
for _public in (TikTokAdapter, RateLimitExceeded, QuotaExhausted, StorageUnavailable):
    _public.__module__ = __name__
