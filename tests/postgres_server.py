"""A real PostgreSQL 15 for the tests: one server per test session, in a
temporary directory on a free loopback port, and a fresh database per test
(copied from a migrated template, which takes milliseconds).

``initdb`` refuses to run as root: when the tests do, the server runs as the
``postgres`` user (``runuser``), in a directory that user owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from storage.postgres import PostgresDatabase

BIN = Path("/usr/lib/postgresql/15/bin")
TEMPLATE = "pv_template"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    root: Path
    port: int = field(default_factory=_free_port)
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_owner, *args], check=True, capture_output=True)

    def start(self) -> None:
        if not (BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL 15 manque ({BIN}) : paquet Debian postgresql (make test l'installe)"
            )
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        data = self.root / "data"
        initdb = str(BIN / "initdb")
        self._run(initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            # A test server: durability is not the point, speed is.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(BIN / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"),
            "-o", options, "-w", "start",
        )  # fmt: skip
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        # Its own thread and loop: the fixture may be set up inside a test's loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, self._migrate_template()).result()

    async def _migrate_template(self) -> None:
        db = await PostgresDatabase.connect(self.url(TEMPLATE), max_size=1)
        await db.close()

    def stop(self) -> None:
        self._run(str(BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def fresh_database(self, *, migrated: bool = True) -> str:
        """The URL of a new, empty database (migrated unless told otherwise)."""
        name = f"t{next(self._names)}"
        template = TEMPLATE if migrated else "template0"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="pv-pg-"))
    server = PostgresServer(root)
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # never started
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, migrated database for one test."""
    return postgres.fresh_database()
