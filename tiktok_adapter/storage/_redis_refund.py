"""Refunds of reserved records on Redis: a script of its own beside the admission script.

Admission charges a calendar window ``cost`` at once (the window's flag argument reads
"1:<cost>"); the response then says how many records came back, and this gives the
rest back to the day it was reserved in, never to the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from ..core.windows import StorageError, Window
from ._redis_scripts import SCRIPTS, run

logger = logging.getLogger("tiktok_adapter")
# The admission script charges a calendar window's cost when it parses this.
_COST_MARK = "string.sub(ARGV[a + 2], 3)"

# lua/refund.lua. KEYS[1]: the window. ARGV: the bucket (calendar period) of the
# reservation, the amount.


def refund_shared(store: Any, window: Window, amount: int, wall: float) -> None:
    """Give ``amount`` back to ``window`` on the Redis store ``store``, in the calendar
    period that contains ``wall``; any failure is a StorageError."""
    if amount <= 0 or not window.rate.calendar:
        return
    key = store.keys.window(window.key)
    bucket = str(int(wall // window.rate.period))
    try:
        run(store.connection(), "refund", [key], [bucket, str(amount)])
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"refund: {type(exc).__name__}") from None


Refund = Callable[[Window, int, float], None]


def refunder(store: Any) -> Refund | None:
    """How ``store`` gives reserved records back, or None when it cannot charge costs.

    A memory store refunds itself. A Redis store behind the fallback refunds both the
    in-process shadow and Redis, once the admission script charges costs ("1:<cost>").
    """
    own = getattr(store, "refund", None)
    if own is not None:
        return cast(Refund, own)
    shadow, primary = getattr(store, "fallback", None), getattr(store, "primary", None)
    if shadow is None or not hasattr(primary, "keys") or _COST_MARK not in SCRIPTS["acquire"].text:
        return None

    def refund(window: Window, amount: int, wall: float) -> None:
        shadow.refund(window, amount, wall)
        try:
            refund_shared(primary, window, amount, wall)
        except StorageError as exc:
            logger.warning("could not refund %d records on the shared store: %s", amount, exc)

    return refund
