"""Media files in a local directory (``data_dir/media``): the default store.

A file lives at ``root/<key>`` (:func:`bot.media_store.media_key`), and is
written to a temporary name then renamed (atomic on POSIX). Disk work runs
in a thread so that a slow disk never holds the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import IO

from bot.media_store import MediaMissing, media_key

CHUNK = 1 << 20


class LocalMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, ref: str) -> Path:
        """Where a reference lives on this disk (this store's own business:
        backups and tests look here, the service goes through the port)."""
        return self.root / media_key(ref)

    def local_file(self, ref: str) -> Path | None:
        return self.path(ref)

    async def exists(self, ref: str) -> bool:
        return await asyncio.to_thread(self.path(ref).exists)

    async def size(self, ref: str) -> int | None:
        try:
            return (await asyncio.to_thread(self.path(ref).stat)).st_size
        except FileNotFoundError:
            return None

    async def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not await self.exists(sha):
            await asyncio.to_thread(self._write, sha, lambda f: f.write(data))
        return sha

    async def put_file(self, source: Path) -> str:
        sha = await asyncio.to_thread(file_sha256, source)
        if not await self.exists(sha):

            def copy(out: IO[bytes]) -> None:
                with source.open("rb") as f:
                    shutil.copyfileobj(f, out, CHUNK)

            await asyncio.to_thread(self._write, sha, copy)
        return sha

    async def read(self, ref: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(ref).read_bytes)
        except FileNotFoundError:
            raise MediaMissing(ref) from None

    async def fetch(self, ref: str, target: Path) -> None:
        try:
            await asyncio.to_thread(shutil.copyfile, self.path(ref), target)
        except FileNotFoundError:
            raise MediaMissing(ref) from None

    async def open_range(self, ref: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        def first() -> tuple[IO[bytes], bytes]:
            # One hop to the thread pool before the first byte: open, seek, read.
            f = self.path(ref).open("rb")
            f.seek(start)
            return f, f.read(min(CHUNK, end - start + 1))

        try:
            f, chunk = await asyncio.to_thread(first)
        except FileNotFoundError:
            raise MediaMissing(ref) from None
        try:
            left = end - start + 1
            while chunk:
                left -= len(chunk)
                yield chunk
                if left <= 0:
                    break
                chunk = await asyncio.to_thread(f.read, min(CHUNK, left))
        finally:
            f.close()

    async def delete(self, ref: str) -> None:
        await asyncio.to_thread(self.path(ref).unlink, missing_ok=True)

    async def refs(self) -> AsyncIterator[str]:
        names = await asyncio.to_thread(
            lambda: sorted(p.name for p in self.root.glob("??/*") if not p.name.startswith("."))
        )
        for name in names:
            yield name

    async def close(self) -> None:
        return None

    def _write(self, sha: str, fill: Callable[[IO[bytes]], object]) -> None:
        target = self.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".tmp-") as out:
            try:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            except BaseException:
                os.unlink(out.name)
                raise
        os.replace(out.name, target)


def file_sha256(source: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
