"""Where the audio lives: the port the core speaks to, whatever holds the
bytes (a local directory, an S3-compatible bucket).

A file is named by a *reference*: the SHA-256 of its bytes, never anything
a user sent. The store keeps it under the relative key :func:`media_key`
(``ab/abcdef…``), the same in a directory and in a bucket, so moving the
files from one to the other keeps every reference in the database valid.
Nothing outside the store writes to a stored file: ffmpeg works on
temporary copies (:meth:`MediaStore.fetch`), adapters get the bytes. The one
local path that leaves a store is :meth:`MediaStore.local_file`, for the web
server to let the kernel send a file (sendfile) instead of copying it
through Python.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Protocol

_HEX = frozenset("0123456789abcdef")


def media_key(ref: str) -> str:
    """The relative key of a reference; refuses anything but a SHA-256 hex
    digest, so no reference can point outside the store."""
    if len(ref) != 64 or not set(ref) <= _HEX:
        raise ValueError("not a sha256 hex digest")
    return f"{ref[:2]}/{ref}"


class MediaMissing(FileNotFoundError):
    """No file behind this reference (erased, or never stored); an OSError
    like a missing local file, so every caller's handling stays the same."""


class MediaStore(Protocol):
    async def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its reference (already there: kept as is)."""
        ...

    async def put_file(self, source: Path) -> str:
        """Store a local file (left as it is); returns its reference."""
        ...

    async def read(self, ref: str) -> bytes:
        """The whole file; raises :class:`MediaMissing`."""
        ...

    async def fetch(self, ref: str, target: Path) -> None:
        """A local copy at ``target`` (for ffmpeg); raises :class:`MediaMissing`."""
        ...

    def open_range(self, ref: str, start: int, end: int) -> AsyncGenerator[bytes, None]:
        """Bytes ``start`` to ``end`` included, in chunks; raises
        :class:`MediaMissing` at the first chunk. Closing it early (a
        listener gone) lets go of the file or connection."""
        ...

    async def size(self, ref: str) -> int | None:
        """Its size in bytes, None when it is not there."""
        ...

    def local_file(self, ref: str) -> Path | None:
        """Where ``ref`` would be on this machine's disk, to be read only;
        None when the store is not a local directory (a bucket)."""
        ...

    async def exists(self, ref: str) -> bool: ...

    async def delete(self, ref: str) -> None:
        """Gone (nothing happens when it was not there)."""
        ...

    def refs(self) -> AsyncIterator[str]:
        """Every stored reference (copies and checks)."""
        ...

    async def close(self) -> None: ...
