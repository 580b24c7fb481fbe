"""The async runner of effects: the work on the store after an answer, off the event loop.

On a shared store a refund, a learned limit or a block is a round trip that must not
block the loop: a block goes through the async client, the rest through the sync store
in threads of the runner's own. In process (memory://) an effect is a dict update under
a lock, and runs at once. Every async transport (httpx, aiohttp) holds one runner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..core.windows import StorageError
from ..storage.base import AsyncStore
from .effects import BlockWrite, Effects, run

logger = logging.getLogger("tiktok_adapter")

# Threads for the round trips after an answer on a shared store: enough for a burst of
# effects at once, and each is a short Redis call.
_THREADS = 4


class AsyncEffects:
    """Runs a transport's effects; ``off_loop`` on a shared store, else at once."""

    def __init__(self, store: AsyncStore, *, off_loop: bool) -> None:
        self.store = store
        self.off_loop = off_loop
        # Effects still running for a task that was cancelled meanwhile; see apply.
        self._applying: set[asyncio.Task[None]] = set()
        self._threads: ThreadPoolExecutor | None = None  # see in_thread

    async def apply(self, effects: Effects) -> None:
        """Run ``effects``, and wait for them.

        Off the loop they run in a task of their own, shielded: a request cancelled
        meanwhile (a timeout) still has its records refunded and its block shared, and
        :meth:`settled` waits for what is left. Only a loop that closes first
        (``asyncio.run`` ending with a request in flight) cancels them.
        """
        if not effects:
            return
        if not self.off_loop:
            run(effects)
            return
        task = asyncio.ensure_future(self._run(effects))
        self._applying.add(task)
        task.add_done_callback(self._applying.discard)
        await asyncio.shield(task)

    async def _run(self, effects: Effects) -> None:
        for effect in effects:
            try:
                if isinstance(effect, BlockWrite):  # the async client, no thread
                    await self._share_block(effect)
                else:  # the sync client's round trip, in a thread
                    await self.in_thread(effect)
            except Exception:  # the answer stands; its bookkeeping failed
                logger.exception("could not finish the work after an answer")

    async def in_thread(self, work: Callable[[], object]) -> None:
        """Run ``work`` in the runner's own threads, not the loop's default executor: a
        store that stops answering then holds our threads for its socket timeout, never
        the ones that resolve host names for every connection the loop opens."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(_THREADS, thread_name_prefix="tiktok-adapter")
        await asyncio.get_running_loop().run_in_executor(self._threads, work)

    async def _share_block(self, block: BlockWrite) -> None:
        try:
            await self.store.block(block.key, block.until, block.now)
        except StorageError as exc:  # the in-process copy still holds this process
            logger.warning("could not share the block of %s: %s", block.route, exc)

    async def settled(self) -> None:
        """Wait for the effects of cancelled requests, before their client closes; then
        let the effect threads go."""
        if self._applying:
            await asyncio.gather(*self._applying, return_exceptions=True)
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None
