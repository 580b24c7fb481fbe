"""Reading a refused response's body without trusting its size, its pace or its encoding.

Which bodies ``TikTokAdapter.observe`` reads: a 429's, up to the cap, whether or not the
caller streams; a streamed 200's never. A redirect's is left to requests, which reads it
while following the redirect and forgives one that fails to decode; read in ``observe``,
the error would escape ``send``. Any other body is one the session reads at once when the
caller does not stream, with the same error the caller would see.

The read has one deadline for the whole of it, not one per read:

- when the connection under urllib3's response has a descriptor (its public
  ``fileno()``), a timer shuts it down at the deadline (see ``_cutoff``), which ends any
  read blocked on it, however slowly the server trickles bytes or however long it stops;
- the body is read a step of compressed bytes at a time (``core.inflation``: 1 KiB of
  gzip, 16 bytes of brotli), each decoded before the size is checked, so a compression
  bomb is inflated no further than a step past the cap, whatever urllib3 decodes per
  read: urllib3 2's ``read1`` returns what one read of the socket brought, urllib3
  1.26's ``stream`` what a step decodes to.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from urllib3 import HTTPResponse

from .._cutoff import Cutoff
from ..core.inflation import step
from ..core.refusal import BODY_DEADLINE, MAX_ERROR_BODY

logger = logging.getLogger(__name__)
DEFAULT_READ_BUDGET = BODY_DEADLINE


def read_prefix(
    response: requests.Response, cap: int = MAX_ERROR_BODY, budget: float = DEFAULT_READ_BUDGET
) -> bytes | None:
    """The whole body when it is at most ``cap`` bytes, reading no more than that.

    A longer body, one still coming after ``budget`` real seconds, or one that fails
    to read leaves ``response.content`` as the part read (at most ``cap`` bytes), its
    connection closed rather than drained, and returns None. Nothing it meets raises.
    """
    ends = time.monotonic() + budget
    chunks: list[bytes] = []
    size = 0
    complete = False
    raw = response.raw
    with Cutoff(_fileno(raw), budget) as cut:
        try:
            read = _reader(raw, step(response.headers.get("Content-Encoding") or ""))
            while size <= cap and time.monotonic() < ends:
                chunk = read()
                if not chunk:
                    complete = not cut.fired  # a cut socket reads as the end of the body
                    break
                chunks.append(chunk)
                size += len(chunk)
        except Exception as exc:  # a broken or hostile body is not worth an error of its own
            logger.debug("could not read a refused response's body: %s", type(exc).__name__)
    data = b"".join(chunks)
    if not complete:
        _drop_connection(response)
    # What was read stays readable (``content``, ``raw``, ``iter_content``), through
    # requests' public ``raw``: a fresh urllib3 response over the decoded bytes. Read
    # twice (``release`` after ``observe``), the second read finds the same bytes.
    response.raw = HTTPResponse(
        body=io.BytesIO(data[:cap]), status=response.status_code, preload_content=False,
        decode_content=False,
    )  # fmt: skip
    return data if complete else None


def release(response: requests.Response) -> None:
    """Free a refused response's connection before the next attempt, reading at most the cap."""
    read_prefix(response)
    response.close()


def _reader(raw: Any, amount: int) -> Callable[[], bytes]:
    """A read of the next decoded piece of the body (b"" at its end)."""
    read1 = getattr(raw, "read1", None)  # urllib3 2
    if read1 is not None:
        return lambda: bytes(read1(amount, decode_content=True))
    # urllib3 1.26: read(amount) may decode to nothing (a gzip header) before the end;
    # stream() reads on until a piece decodes.
    pieces = raw.stream(amount, decode_content=True)
    return lambda: bytes(next(pieces, b""))


def _fileno(raw: Any) -> int | None:
    """The descriptor of the connection under urllib3's response (its public ``fileno``,
    as for any file object); None for a body that has none (a mocked one)."""
    try:
        fileno = raw.fileno()
    except (OSError, ValueError, AttributeError):
        return None
    return fileno if isinstance(fileno, int) and fileno >= 0 else None


def _drop_connection(response: requests.Response) -> None:
    # Draining an unbounded body to reuse the connection is what we refuse to do.
    try:
        response.raw.close()
    except Exception:
        pass
