"""Request priorities: a context manager, a request header, or the adapter's default.

The definitions live in the core (``tiktok_adapter.core.priority``), which the rules
read; this is the public module that names them.
"""

from __future__ import annotations

from .core.priority import PRIORITY_HEADER, Priority, current_priority, priority

__all__ = ["PRIORITY_HEADER", "Priority", "current_priority", "priority"]

# Named by this module in pickles, as before it moved into the core.
Priority.__module__ = __name__
