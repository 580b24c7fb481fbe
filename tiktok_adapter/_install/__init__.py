"""install() for every HTTP stack of the process: one module per stack, each patching its
library's public constructor or send method so that the TikTok hosts go through the one
installed limiter. A stack whose library is missing is skipped."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from .shared import Installed, Target, Undo, flavour_errors, target_of

logger = logging.getLogger("tiktok_adapter")


@dataclass(frozen=True)
class Stack:
    """One HTTP stack: the library it needs (its top-level module), and the module of ours
    that patches it."""

    name: str
    library: str
    module: str
    # What the module's patch() takes: the installation itself (requests mounts the
    # adapter on Sessions) or only the target (the limiter and its hosts).
    needs_installation: bool = False


STACKS: tuple[Stack, ...] = (
    Stack("requests", "requests", "requests", needs_installation=True),
    Stack("urllib3", "urllib3", "urllib3"),
    Stack("httpx", "httpx", "httpx"),
    Stack("aiohttp", "aiohttp", "aiohttp"),
    Stack("urllib.request", "urllib.request", "urllib"),
)


def patch_all(installation: Installed) -> list[Undo]:
    """Patch every stack whose library is installed; what undoes each, in order."""
    target = target_of(installation.adapter.limiter, installation.base_url)
    undo = [flavour_errors(target.limiter)]
    for stack in STACKS:
        try:
            module = importlib.import_module(f"{__name__}.{stack.module}")
        except ImportError:  # not installed (nothing of it can send), or too old for us
            logger.debug("tiktok_adapter: no %s to install on", stack.library)
            continue
        undo.append(module.patch(installation if stack.needs_installation else target))
        logger.debug("tiktok_adapter installed on %s", stack.name)
    return undo


__all__ = ["STACKS", "Stack", "Target", "Undo", "patch_all"]
