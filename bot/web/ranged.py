"""A stored file answered with HTTP Range, straight from the media store.

A file of the local store goes out through aiohttp's ``FileResponse``: the
kernel copies it to the socket (sendfile) and aiohttp answers Range,
If-Range, HEAD and 416 itself. A bucket's file is streamed in chunks.

Streamed through the service rather than redirected to a presigned URL of
the bucket: the family's token and the consent rule are checked at every
request (a presigned URL would keep playing after a link is revoked, until
it expires), the address behind a podcast enclosure never changes, the page's
``media-src 'self'`` policy holds, and the bucket need not be reachable from
the families' network. A ranged request becomes a ranged GET on the bucket:
only the bytes asked travel.
"""

from __future__ import annotations

import contextlib
import re

from aiohttp import web

from bot.media_store import MediaMissing, MediaStore

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte asked for, None for the whole file (no
    header, several ranges, or a header we do not read); raises
    HTTPRequestRangeNotSatisfiable past the end."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        count = int(last)
        if count == 0:
            raise _unsatisfiable(size)
        return max(0, size - count), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> web.HTTPRequestRangeNotSatisfiable:
    return web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})


async def stream(
    request: web.Request, store: MediaStore, ref: str, headers: dict[str, str]
) -> web.StreamResponse | None:
    """Answer ``request`` with the file ``ref``; None when a bucket does not
    hold it (a local file missing gets aiohttp's own empty 404)."""
    local = store.local_file(ref)
    if local is not None:
        return web.FileResponse(local, headers=headers)
    size = await store.size(ref)
    if size is None:
        return None
    etag = f'"{ref}"'  # the content's hash: the bytes behind it never change
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    wanted = None
    if request.headers.get("If-Range", etag) == etag:
        wanted = byte_range(request.headers.get("Range"), size)
    start, end = wanted if wanted is not None else (0, size - 1)
    resp = web.StreamResponse(
        status=206 if wanted is not None else 200,
        headers={**headers, "Accept-Ranges": "bytes", "ETag": etag},
    )
    if wanted is not None:
        resp.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    resp.content_length = end - start + 1 if size else 0
    if request.method == "HEAD" or size == 0:
        await resp.prepare(request)
        await resp.write_eof()
        return resp
    # Closed however the answer ends (a listener who seeks or leaves), so
    # the file or the bucket's connection is let go at once.
    async with contextlib.aclosing(store.open_range(ref, start, end)) as chunks:
        try:
            first = await anext(chunks)
        except (MediaMissing, StopAsyncIteration):
            return None  # erased between the size and the read
        await resp.prepare(request)
        await resp.write(first)
        async for chunk in chunks:
            await resp.write(chunk)
    await resp.write_eof()
    return resp
