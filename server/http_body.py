"""Reading an HTTP request body without letting it cost the server more than its caller is allowed.

The body is read only after the caller was authorized from the headers (server/web_api.py). Then:
- its declared length (Content-Length) and its streamed length are capped at `limit` bytes;
- it must arrive within `limits.HTTP_BODY_TIMEOUT_S`, and after `limits.HTTP_BODY_GRACE_S` at no less than
  `limits.HTTP_BODY_MIN_RATE` bytes a second on average (a trickled body is cut off, not waited for);
- a gzip or deflate body (Content-Encoding) is inflated here, never by aiohttp's parser (the server turns that
  off), `limits.HTTP_INFLATE_STEP` bytes at a time with the event loop served in between, and refused as soon
  as it inflates past `limit`.
"""

from __future__ import annotations

import asyncio
import zlib

from aiohttp import hdrs, web

from meshsmith import limits
from meshsmith.errors import DeadlineExceeded, InvalidInput, ResourceExhausted, Unimplemented

# zlib window bits: gzip framing, or the zlib framing HTTP calls "deflate"
INFLATE_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


def _inflater(request: web.Request):
    encoding = (request.headers.get(hdrs.CONTENT_ENCODING) or "identity").strip().lower()
    if encoding == "identity":
        return None
    if encoding not in INFLATE_WBITS:
        raise Unimplemented(f"Content-Encoding {encoding[:40]!r} is not supported; send gzip, deflate or identity")
    return zlib.decompressobj(INFLATE_WBITS[encoding])


def _too_slow(size: int, elapsed: float) -> str:
    return (f"the request body arrived too slowly ({size} bytes in {elapsed:.1f} s): the server needs the whole body "
            f"within {limits.HTTP_BODY_TIMEOUT_S:g} s, at {limits.HTTP_BODY_MIN_RATE // 1024} KiB/s or more")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request's body, inflated, at most `limit` bytes; ResourceExhausted past it, DeadlineExceeded when it
    arrives too slowly, InvalidInput for a corrupt gzip/deflate stream, Unimplemented for another encoding."""
    inflater = _inflater(request)
    declared = request.content_length
    if declared is not None and inflater is None and declared > limit:
        raise ResourceExhausted(f"the request is {declared} bytes; the limit is {limit} bytes")
    loop = asyncio.get_running_loop()
    start = loop.time()
    chunks: list[bytes] = []
    size = wire = 0
    while True:
        # the next bytes must come before the body's total deadline and before the average rate falls too low
        deadline = min(start + limits.HTTP_BODY_TIMEOUT_S,
                       start + limits.HTTP_BODY_GRACE_S + wire / limits.HTTP_BODY_MIN_RATE)
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await request.content.readany()
        except TimeoutError:
            raise DeadlineExceeded(_too_slow(wire, loop.time() - start)) from None
        if not chunk:
            break
        wire += len(chunk)
        if inflater is None:
            size += len(chunk)
            if size > limit:
                raise ResourceExhausted(f"the request is over the limit of {limit} bytes")
            chunks.append(chunk)
            continue
        data = chunk
        while data:
            try:
                out = inflater.decompress(data, min(limits.HTTP_INFLATE_STEP, limit - size + 1))
            except zlib.error as e:
                raise InvalidInput(f"the request body is not valid {request.headers[hdrs.CONTENT_ENCODING]}: {e}") from None
            size += len(out)
            if size > limit:
                raise ResourceExhausted(f"the request inflates past the limit of {limit} bytes")
            chunks.append(out)
            data = inflater.unconsumed_tail
            if data:
                await asyncio.sleep(0)  # a highly compressed chunk: let the loop serve others between steps
    if inflater is not None and not inflater.eof:
        raise InvalidInput("the request body ends inside its compressed stream")
    return b"".join(chunks)
