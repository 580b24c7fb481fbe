"""Reading an answer's body for the transport's own purposes, bounded in size, time and
inflation, sync and async alike.

- A 429's raw body is read up to the cap, until a deadline for the whole read; a longer
  or slower one is cut and its connection closed, never drained. Over HTTP/1.1 a timer
  shuts the socket down at the deadline (see ``_cutoff``), so neither a trickle nor a
  stall holds a sync read past it; the async read is awaited with the deadline.
- A small JSON 200 (its declared length is within the cap) is read until the same
  deadline; one that is still coming, or fails, goes to the caller as it was, the part
  read first, to read on at its own pace and with its own errors, as without us.
- Only what was read whole is decoded, and no further than the cap: httpx's decoders
  are fed a few bytes at a time (``core.inflation``), so a compression bomb inflates no
  more than one small step past it.
- The caller gets a body that decodes within the cap as sent; a 429 that does not, as
  far as it decodes within the cap (without its Content-Encoding, as requests' adapter
  gives it); a 200 that does not, unread, for httpx to decode if the caller reads it.
"""

from __future__ import annotations

import asyncio
import socket
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from .._cutoff import Cutoff
from ..core.inflation import codings, step
from ..core.refusal import MAX_ERROR_BODY


def read_raw(response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
    """At most the cap (plus one network read) of a 429's raw body, and whether that was
    all of it; the response is closed either way (a cut one is not drained)."""
    parts: list[bytes] = []
    complete = False
    ends = time.monotonic() + deadline
    with Cutoff(_fileno(response), deadline) as cut:
        try:
            # a cut socket reads as the end
            complete = _pull(response.iter_raw(), parts, ends) and not cut.fired
        except httpx.HTTPError:
            pass
    response.close()  # after the cutoff is over: a reused connection is never cut
    return _kept(parts, complete)


def _pull(stream: Iterator[bytes], parts: list[bytes], ends: float) -> bool:
    """Add ``stream``'s chunks to ``parts`` until past the cap or the monotonic moment
    ``ends``; whether the stream ended first."""
    size = 0
    while size <= MAX_ERROR_BODY and time.monotonic() < ends:
        chunk = next(stream, None)
        if chunk is None:
            return True
        parts.append(chunk)
        size += len(chunk)
    return False


async def aread_raw(response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
    """:func:`read_raw` for an async response: the whole read is awaited with the deadline."""
    parts: list[bytes] = []
    complete = False
    try:
        complete = await asyncio.wait_for(_apull(response, parts), max(deadline, 0.0))
    except (asyncio.TimeoutError, httpx.HTTPError):
        pass
    await response.aclose()
    return _kept(parts, complete)


async def _apull(response: httpx.Response, parts: list[bytes]) -> bool:
    size = 0
    async for chunk in response.aiter_raw():
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_ERROR_BODY:
            return False
    return True


def _kept(parts: list[bytes], complete: bool) -> tuple[bytes, bool]:
    data = b"".join(parts)
    return (data, True) if complete else (data[:MAX_ERROR_BODY], False)


def read_declared(response: httpx.Response, deadline: float) -> tuple[httpx.Response, bytes | None]:
    """A small JSON 200 read before the deadline: as :func:`judged`; one still coming,
    or failing, goes on with the part read, to read on (None to judge)."""
    parts: list[bytes] = []
    ends = time.monotonic() + deadline
    stream = response.iter_raw()
    try:
        if _pull(stream, parts, ends):
            response.close()
            return judged(response, b"".join(parts))
    except httpx.HTTPError as exc:
        return _handed_on(response, _Resumed(parts, stream, exc, response)), None
    return _handed_on(response, _Resumed(parts, stream, None, response)), None


async def aread_declared(
    response: httpx.Response, deadline: float
) -> tuple[httpx.Response, bytes | None]:
    """:func:`read_declared` for an async response. A read under way is never cancelled
    (the caller reads on from it), so a stalled one waits for the caller's read timeout."""
    parts: list[bytes] = []
    ends = time.monotonic() + deadline
    stream = response.aiter_raw()
    size = 0
    try:
        while size <= MAX_ERROR_BODY and time.monotonic() < ends:
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                await response.aclose()
                return judged(response, b"".join(parts))
            parts.append(chunk)
            size += len(chunk)
    except httpx.HTTPError as exc:
        return _handed_on(response, _AResumed(parts, stream, exc, response)), None
    return _handed_on(response, _AResumed(parts, stream, None, response)), None


class _Resumed(httpx.SyncByteStream):
    """The part of a body read already, then the rest (or the error met) as it comes."""

    def __init__(self, read: list[bytes], rest: Iterator[bytes], error: Exception | None,
                 response: httpx.Response) -> None:  # fmt: skip
        self.read, self.rest, self.error, self.response = read, rest, error, response

    def __iter__(self) -> Iterator[bytes]:
        yield from self.read
        if self.error is not None:
            raise self.error
        yield from self.rest

    def close(self) -> None:
        self.response.close()


class _AResumed(httpx.AsyncByteStream):
    """:class:`_Resumed` for an async response."""

    def __init__(self, read: list[bytes], rest: AsyncIterator[bytes], error: Exception | None,
                 response: httpx.Response) -> None:  # fmt: skip
        self.read, self.rest, self.error, self.response = read, rest, error, response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.read:
            yield chunk
        if self.error is not None:
            raise self.error
        async for chunk in self.rest:
            yield chunk

    async def aclose(self) -> None:
        await self.response.aclose()


def _handed_on(
    response: httpx.Response, stream: Any, headers: httpx.Headers | None = None
) -> httpx.Response:
    """A response like ``response`` (its request and extensions) on another stream."""
    return httpx.Response(
        response.status_code, headers=response.headers if headers is None else headers,
        stream=stream,
        request=response.request if _has_request(response) else None,
        extensions=response.extensions,
    )  # fmt: skip


def refused(
    response: httpx.Response, raw: bytes, complete: bool
) -> tuple[httpx.Response, bytes | None]:
    """A 429 read up to the cap: the response to hand on, and its body to judge when it
    was read whole and decodes within the cap.

    The response carries the body read: as sent when it decodes within the cap, else
    decoded (at most the cap, as requests' adapter gives it, without its
    Content-Encoding), or as far as it decodes.
    """
    text, whole = decoded(response.headers, raw)
    if complete and whole:
        return _carrying(response, raw, response.headers), text
    headers = response.headers.copy()
    for name in ("Content-Length", "Content-Encoding"):  # httpx counts what it carries
        headers.pop(name, None)
    return _carrying(response, text[:MAX_ERROR_BODY], headers), None


def judged(response: httpx.Response, raw: bytes) -> tuple[httpx.Response, bytes | None]:
    """A small 200 read whole: the response to hand on, carrying the raw bytes for httpx
    to decode when the caller reads them (as it would have), and its body to judge when
    it decodes within the cap (else None)."""
    text, whole = decoded(response.headers, raw)
    return _handed_on(response, httpx.ByteStream(raw)), text if whole else None


def read_for_error(response: httpx.Response) -> httpx.Response:
    """A refused 200 (handed on by :func:`judged`) read for the error that will carry it.
    One httpx cannot decode (a Content-Encoding named twice, applied once) goes on as a
    fresh response on the same bytes, unread: the caller's read meets httpx's own error,
    as it would without the adapter, and the refusal is still raised as one."""
    try:
        response.read()
    except httpx.DecodingError:
        return _handed_on(response, response.stream)
    return response


async def aread_for_error(response: httpx.Response) -> httpx.Response:
    """:func:`read_for_error` for an async response."""
    try:
        await response.aread()
    except httpx.DecodingError:
        return _handed_on(response, response.stream)
    return response


def _carrying(response: httpx.Response, raw: bytes, headers: httpx.Headers) -> httpx.Response:
    # content= is read (decoded) at once: only for a body known to decode within the cap.
    try:
        return httpx.Response(
            response.status_code, headers=headers, content=raw,
            request=response.request if _has_request(response) else None,
            extensions=response.extensions,
        )  # fmt: skip
    except httpx.DecodingError:  # httpx judged it otherwise: the caller meets the error
        return _handed_on(response, httpx.ByteStream(raw), headers)


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - httpx raises when a response has none
    except RuntimeError:
        return False
    return True


def _fileno(response: httpx.Response) -> int | None:
    """The descriptor of the socket under an HTTP/1.1 response (httpcore's documented
    ``network_stream`` extension); an HTTP/2 connection, shared by other requests, and
    a mocked one have none here."""
    stream = response.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
        fileno = sock.fileno() if isinstance(sock, socket.socket) else None
    except Exception:
        return None
    return fileno if isinstance(fileno, int) and fileno >= 0 else None


def decoded(headers: httpx.Headers, raw: bytes) -> tuple[bytes, bool]:
    """``raw`` decoded by its Content-Encoding as far as the cap (plus a step), and whether
    that was all of it: a body that is longer or fails to decode gives the part decoded."""
    encoding = headers.get("content-encoding", "")
    named = codings(encoding) - {"identity", ""}
    if not named:
        return raw, len(raw) <= MAX_ERROR_BODY
    if len(named) == 1 and next(iter(named)) in _ZLIB_WBITS:
        return _inflated(raw, _ZLIB_WBITS[next(iter(named))])
    size = step(encoding)
    steps = (raw[i : i + size] for i in range(0, len(raw), size))
    got, parts = 0, []
    try:
        for chunk in httpx.Response(200, headers=headers, content=steps).iter_bytes():
            parts.append(chunk)
            got += len(chunk)
            if got > MAX_ERROR_BODY:
                return b"".join(parts), False
    except httpx.DecodingError:
        return b"".join(parts), False
    return b"".join(parts), True


# The window bits httpx's own gzip and deflate decoders use (deflate: zlib's wrapper,
# else raw deflate); with these, zlib itself stops at the cap (``max_length``), and a
# common body costs one call rather than httpx's machinery twice.
_ZLIB_WBITS = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def _inflated(raw: bytes, wbits: int) -> tuple[bytes, bool]:
    """:func:`decoded` for gzip or deflate, by zlib alone."""
    inflater = zlib.decompressobj(wbits)
    try:
        text = inflater.decompress(raw, MAX_ERROR_BODY + 1)
    except zlib.error:
        if wbits != zlib.MAX_WBITS:
            return b"", False
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as httpx tries next
        try:
            text = inflater.decompress(raw, MAX_ERROR_BODY + 1)
        except zlib.error:
            return b"", False
    return text, len(text) <= MAX_ERROR_BODY and not inflater.unconsumed_tail
