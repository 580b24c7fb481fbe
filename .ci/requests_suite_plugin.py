"""pytest plugin for requests' own test suite, run by .ci/requests_suite.py.

Loaded with ``-p requests_suite_plugin`` in both of its runs, it deselects the few tests
that would leave the machine (DESELECTED, each with its reason), and keeps the rest on it:
a connect to an address that is not loopback, or a name lookup that would ask a DNS
server, raises OSError and fails the test that made it (and the run), even where the test
expected an error and caught it. So the suite stays offline where no network namespace
can be made (.ci/requests_suite.py), and a new test that leaves the machine is named
instead of passing by luck of the network. With ``--tiktok-adapter``
it also mounts a TikTokAdapter on "https://" and "http://" of every requests.Session
created, the way a user mounts it, so that the adapter's send() carries every request
the suite makes (module-level requests.get builds a Session too). The run fails when
send() never ran: a shim that intercepted nothing would pass for the wrong reason.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

import tiktok_adapter
from tiktok_adapter import TikTokAdapter

_TARPIT = "connects to a non-routable private address to provoke a connect timeout"
_DNS = "resolves a name that is not local: the query leaves the machine"

# Exact node ids; one that is no longer collected fails the run, so the list keeps up
# with the pinned requests. Found by running the suite in a network namespace that has
# only loopback: these are the tests that reach (or try to reach) beyond it.
DESELECTED: dict[str, str] = {
    "tests/test_requests.py::TestTimeout::test_connect_timeout[timeout0]": _TARPIT,
    "tests/test_requests.py::TestTimeout::test_connect_timeout[timeout1]": _TARPIT,
    "tests/test_requests.py::TestTimeout::test_total_timeout_connect[timeout0]": _TARPIT,
    "tests/test_requests.py::TestTimeout::test_total_timeout_connect[timeout1]": _TARPIT,
    "tests/test_requests.py::TestRequests::test_errors"
    "[http://doesnotexist.google.com-ConnectionError]": _DNS,
    "tests/test_requests.py::TestRequests::test_proxy_error": _DNS,
}

# The defaults, but for what would only slow the suite down. httpbin's paths are outside
# the endpoint table, so only the app window counts them: without it no window binds.
# A safe request that failed without an answer still goes again (max_retries), after a
# short backoff instead of seconds; the whole of send() runs for every request.
SETTINGS: dict[str, Any] = {"app_limit": None, "backoff_base": 0.01, "backoff_max": 0.05}

_ORIGINAL = pytest.StashKey[Any]()  # requests.Session.__init__ before the patch
_lock = threading.Lock()
_counts = {"adapters": 0, "sends": 0}


def _tally(name: str) -> None:
    with _lock:
        _counts[name] += 1


# Names the resolver answers from the hosts file, never from a DNS server.
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_blocked: list[str] = []  # attempts to leave the machine not yet charged to a test
_reported: list[str] = []  # every attempt, for the summary


def _host(host: object) -> str:
    if host is None:  # getaddrinfo(None, ...): this machine
        return ""
    text = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    return text.strip("[]").partition("%")[0].rstrip(".").lower()


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_local_name(host: str) -> bool:
    # "" means this machine to connect() and getaddrinfo().
    return host == "" or host in _LOCAL_NAMES or host.endswith(".localhost")


def _is_loopback(host: str) -> bool:
    address = _ip(host)
    if address is None:
        return _is_local_name(host)
    return address.is_loopback or address.is_unspecified


def _block(what: str) -> OSError:
    with _lock:
        _blocked.append(what)
        _reported.append(what)
    # What a machine without a network answers; the caller sees an ordinary failure.
    return OSError(errno.ENETUNREACH, f"requests_suite_plugin: offline, refused {what}")


def _guard_connect(connect: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(sock: socket.socket, address: Any, *args: Any) -> Any:
        inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        if inet and not _is_loopback(_host(address[0])):
            raise _block(f"connect to {address!r}")
        return connect(sock, address, *args)

    return guarded


def _guard_lookup(lookup: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = _host(host)
        if _ip(name) is None and not _is_local_name(name):
            # The message is refused locally: no query is sent. gaierror, as for an
            # unknown name, is what callers of a lookup handle.
            _block(f"DNS lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"requests_suite_plugin: offline, {host!r}")
        return lookup(host, *args, **kwargs)

    return guarded


def _stay_offline() -> None:
    """Patch the socket module so that nothing the suite runs leaves this machine."""
    # socket.socket is a Python class over _socket.socket: ssl.SSLSocket and PySocks'
    # socksocket are subclasses, and socket.create_connection calls this connect.
    for method in ("connect", "connect_ex"):
        setattr(socket.socket, method, _guard_connect(getattr(socket.socket, method)))
    for function in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        setattr(socket, function, _guard_lookup(getattr(socket, function)))


def _take_blocked() -> list[str]:
    with _lock:
        taken = _blocked[:]
        _blocked.clear()
    return taken


class SuiteAdapter(TikTokAdapter):
    """TikTokAdapter that counts its sends, to prove the suite went through it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _tally("adapters")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        _tally("sends")
        return super().send(request, *args, **kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tiktok-adapter",
        action="store_true",
        help="mount tiktok_adapter.TikTokAdapter on http:// and https:// of every Session",
    )


def pytest_configure(config: pytest.Config) -> None:
    _stay_offline()  # both runs; for the whole process, which ends with the run
    if not config.getoption("--tiktok-adapter"):
        return
    original = requests.Session.__init__

    def __init__(session: requests.Session, *args: Any, **kwargs: Any) -> None:
        original(session, *args, **kwargs)
        for prefix in ("https://", "http://"):
            session.mount(prefix, SuiteAdapter(**SETTINGS))

    requests.Session.__init__ = __init__  # type: ignore[method-assign, assignment]
    config.stash[_ORIGINAL] = original


def pytest_unconfigure(config: pytest.Config) -> None:
    original = config.stash.get(_ORIGINAL, None)
    if original is not None:
        requests.Session.__init__ = original  # type: ignore[method-assign]


def pytest_report_header(config: pytest.Config) -> list[str]:
    if config.getoption("--tiktok-adapter"):
        mode = "TikTokAdapter mounted in every Session"
    else:
        mode = "control: requests' own HTTPAdapter"
    return [
        f"requests {requests.__version__} from {requests.__file__}",
        f"tiktok_adapter {tiktok_adapter.__version__}; {mode}",
    ]


@pytest.hookimpl(tryfirst=True)  # before -k and -m take items away
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    collected = {item.nodeid for item in items}
    files = {nodeid.partition("::")[0] for nodeid in collected}
    stale = sorted(i for i in DESELECTED if i.partition("::")[0] in files and i not in collected)
    if stale:
        raise pytest.UsageError(
            "requests_suite_plugin.DESELECTED names tests that were not collected "
            f"(update it for this requests): {stale}"
        )
    config.hook.pytest_deselected(items=[i for i in items if i.nodeid in DESELECTED])
    items[:] = [item for item in items if item.nodeid not in DESELECTED]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    blocked = _take_blocked()
    if blocked:
        # Charged to the phase (setup, call, teardown) during which it happened; a test
        # that caught the error it got would otherwise pass.
        report.outcome = "failed"
        message = "tried to leave the machine: " + "; ".join(blocked)
        report.longrepr = f"{report.longrepr}\n{message}" if report.longrepr else message
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    write = terminalreporter.write_line
    for nodeid, reason in DESELECTED.items():
        write(f"deselected (leaves the machine): {nodeid}: {reason}")
    for what in _reported:
        write(f"OFFLINE GUARD refused {what}")
    if config.getoption("--tiktok-adapter"):
        write(
            f"TikTokAdapter.send() ran {_counts['sends']} times "
            f"through {_counts['adapters']} adapters"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _reported:
        # Including attempts outside any test (collection, a fixture's thread).
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.config.getoption("--tiktok-adapter") and _counts["sends"] == 0:
        # Every test passing with the adapter never used proves nothing.
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
