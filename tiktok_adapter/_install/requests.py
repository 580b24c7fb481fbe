"""requests: every Session created while installed is mounted with the one adapter."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..engine.facade import LimiterFacade
from .shared import Installed, Undo, sending


def patch(installation: Installed) -> Undo:
    original_init = requests.Session.__init__
    original_send = HTTPAdapter.send

    def __init__(session: requests.Session, *args: Any, **kwargs: Any) -> None:
        original_init(session, *args, **kwargs)
        installation.attach(session)

    def send(adapter: HTTPAdapter, *args: Any, **kwargs: Any) -> requests.Response:
        if not isinstance(adapter, LimiterFacade):  # a plain adapter: urllib3's patch limits it
            return original_send(adapter, *args, **kwargs)
        # The package's adapter admitted the request before it reaches here: urllib3's
        # patch, which the pools pass it through, must not count it again.
        with sending():
            return original_send(adapter, *args, **kwargs)

    __init__.__wrapped__ = original_init  # type: ignore[attr-defined]
    send.__wrapped__ = original_send  # type: ignore[attr-defined]
    requests.Session.__init__ = __init__  # type: ignore[method-assign, assignment]
    HTTPAdapter.send = send  # type: ignore[method-assign, assignment]

    def undo() -> None:
        requests.Session.__init__ = original_init  # type: ignore[method-assign]
        HTTPAdapter.send = original_send  # type: ignore[method-assign]
        installation.detach_all()

    return undo
