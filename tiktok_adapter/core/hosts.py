"""The hosts a preset's requests go to, as data: production, sandbox and upload."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from urllib.parse import urlsplit


class HostKind(Enum):
    """What a host is for, and so how its requests are counted.

    ``PRODUCTION``: the live API; the preset's windows count here. ``SANDBOX``: the same
    API for testing (TikTok's Business sandbox). It counts at the preset's limits in
    windows of its own, so sandbox calls never spend production quota. TikTok says its
    sandbox has lower per-endpoint limits of its own, but no source we have publishes
    them, so none are invented here. ``limits`` apply on both hosts; to count the sandbox
    lower alone, give it an adapter of its own (``mount(session, base_url=
    "https://sandbox-ads.tiktok.com/", limits=...)``). ``UPLOAD``: where
    Content Posting's chunk PUTs go (the ``upload_url`` an init call returns). It is
    covered (its answers are seen and reported) but spends no window: TikTok documents
    no limit for it, and each upload is paced already by the init call that handed out
    its URL.
    """

    PRODUCTION = "production"
    SANDBOX = "sandbox"
    UPLOAD = "upload"

    @property
    def counting(self) -> str:
        """How requests to a host of this kind are counted, in words."""
        return _COUNTING[self]


_COUNTING = MappingProxyType(
    {
        HostKind.PRODUCTION: "the preset's windows",
        HostKind.SANDBOX: "windows of its own at the preset's limits (sandbox limits unpublished)",
        HostKind.UPLOAD: "covered, no limit (none documented)",
    }
)


@dataclass(frozen=True)
class Host:
    """One host of a preset: its name (lower case, no trailing dot) and its kind."""

    name: str
    kind: HostKind = HostKind.PRODUCTION

    @property
    def url(self) -> str:
        return f"https://{self.name}/"


def host_name(url: str) -> str:
    """The host of ``url`` as hosts are compared: lower case, no trailing dot."""
    return (urlsplit(url).hostname or "").rstrip(".").lower()


def v2_hosts(*extra: Host) -> tuple[Host, ...]:
    """The v2 API's host (TikTok's v2 sandbox is the same host with sandbox client keys)."""
    return (Host("open.tiktokapis.com"), *extra)


def kinds_of(hosts: Iterable[Host]) -> Mapping[str, HostKind]:
    """Host name to kind, for the hosts that are not production (looked up per route)."""
    return MappingProxyType({h.name: h.kind for h in hosts if h.kind is not HostKind.PRODUCTION})
