"""Content-addressed media files under ``data_dir/media``.

A file is named by the SHA-256 of its bytes, never by anything a user sent,
and is written to a temporary name then renamed (atomic on POSIX).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

_CHUNK = 1 << 20


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).exists()

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.exists(sha):
            self._write(sha, lambda f: f.write(data))
        return sha

    def put_file(self, source: Path) -> str:
        """Copy a file in (the source is left as it is)."""
        digest = hashlib.sha256()
        with source.open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        sha = digest.hexdigest()
        if not self.exists(sha):

            def copy(out: IO[bytes]) -> None:
                with source.open("rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)

            self._write(sha, copy)
        return sha

    def read(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()

    def delete(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)

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
