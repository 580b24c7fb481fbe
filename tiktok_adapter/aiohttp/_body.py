"""Reading an aiohttp answer's body for the middleware's own purposes, bounded.

aiohttp decodes (gunzips) as it reads, and offers no public way to put bytes back into
a response, so the reads are chosen by what the caller can still read afterwards:

- A 429 that declares a length within the cap and no Content-Encoding is read with
  ``response.read()``, which aiohttp caches: the caller reads it again. A 429 of any other
  kind (chunked, compressed, longer) is read decoded with ``content.read(n)`` up to the cap
  and then released, or closed when it was cut (never drained); its body is spent. Either
  read ends at the deadline for the whole read, however slowly the body trickles.
- A small JSON 200 (its declared length within the cap) is read with ``response.read()``,
  as the caller's ``await response.json()`` would read it, and within the session's own
  timeouts rather than ours: aiohttp cannot tell whether the caller streams, and this is
  the body an API call reads whole anyway. It stays cached for the caller. A read that
  fails is left as aiohttp left it, for the caller to meet the same error.
"""

from __future__ import annotations

import asyncio

import aiohttp

from ..core.refusal import MAX_ERROR_BODY, Answer


async def answer_of(response: aiohttp.ClientResponse, deadline: float) -> Answer:
    """What the rules read of an answer: its status, headers and the body read above."""
    status = response.status
    body = None
    if status == 429:
        body = await read_refusal(response, deadline)
    elif wants_body(response):
        body = await read_small(response)
    return Answer(status, response.headers, body)


async def read_refusal(response: aiohttp.ClientResponse, deadline: float) -> bytes | None:
    """A 429's body when it came whole within the cap and the deadline, else None."""
    headers = response.headers
    length = headers.get("Content-Length", "")
    plain = headers.get("Content-Encoding", "identity").strip().lower() in ("", "identity")
    if plain and length.isdigit() and int(length) <= MAX_ERROR_BODY:
        try:  # aiohttp reads no more than the declared length
            return await asyncio.wait_for(response.read(), max(deadline, 0.0))
        except (asyncio.TimeoutError, aiohttp.ClientError):
            response.close()  # read() closes on a cancel; a failed read's connection goes too
            return None
    parts: list[bytes] = []
    complete = False
    try:
        complete = await asyncio.wait_for(_pull(response.content, parts), max(deadline, 0.0))
    except (asyncio.TimeoutError, aiohttp.ClientError):
        pass
    if complete:
        response.release()
    else:
        response.close()  # cut: the rest is never read
    return b"".join(parts) if complete else None


async def _pull(content: aiohttp.StreamReader, parts: list[bytes]) -> bool:
    """Decoded chunks until the end (True) or past the cap (False)."""
    size = 0
    while size <= MAX_ERROR_BODY:
        chunk = await content.read(MAX_ERROR_BODY + 1 - size)
        if not chunk:
            return True
        parts.append(chunk)
        size += len(chunk)
    return False


def wants_body(response: aiohttp.ClientResponse) -> bool:
    """A 200 whose body may carry a refusal: JSON with a declared length within the cap."""
    headers = response.headers
    if response.status != 200 or "json" not in headers.get("Content-Type", ""):
        return False
    length = headers.get("Content-Length", "")
    return length.isdigit() and int(length) <= MAX_ERROR_BODY


async def read_small(response: aiohttp.ClientResponse) -> bytes | None:
    """A small JSON 200's body (cached for the caller), or None when the read failed."""
    try:
        body = await response.read()
    except aiohttp.ClientError:
        return None
    return body if len(body) <= MAX_ERROR_BODY else None
