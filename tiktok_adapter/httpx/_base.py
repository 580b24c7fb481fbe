"""What both httpx transports hold: settings, one Limiter, and the monitoring methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from ..core.clock import Clock
from ..core.events import Hook
from ..core.refusal import RefusalPolicy
from ..engine.facade import LimiterFacade
from ..settings import Settings
from ._errors import to_exception

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..settings import SettingsKwargs


TransportT = TypeVar("TransportT")


class LimitedTransport(LimiterFacade, Generic[TransportT]):
    """The limiter and monitoring of a transport; the subclasses send, sleep and raise.

    Settings come as keywords or a ``settings`` object (keywords win), as for
    :class:`~tiktok_adapter.TikTokAdapter`; ``transport`` is the httpx transport to wrap
    (:meth:`default_transport` unless given).
    """

    transport: TransportT

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: TransportT | None = None,
        clock: Clock | None = None,
        refusal_policy: RefusalPolicy | None = None,
        on_wait: Hook | None = None,
        on_rate_limited: Hook | None = None,
        on_retry: Hook | None = None,
        random_source: Callable[[], float] | None = None,
        **options: Unpack[SettingsKwargs],
    ) -> None:
        self._limit(
            Settings.given(type(self).__name__, settings, options, type(self).__init__), clock,
            errors=to_exception, refusal_policy=refusal_policy, random_source=random_source,
            hooks={"on_wait": on_wait, "on_rate_limited": on_rate_limited, "on_retry": on_retry},
        )  # fmt: skip
        self.transport = transport if transport is not None else self.default_transport()
        self._ready()

    def _ready(self) -> None:
        """What a subclass builds once the limiter and the transport exist."""

    def default_transport(self) -> TransportT:
        """The httpx transport to wrap when none is given."""
        raise NotImplementedError
