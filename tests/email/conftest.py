from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.email.devkit import SmtpServer
from tests.core.harness import Stage
from tests.email.kit import email_stage


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def stage(tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[Stage]:
    s = email_stage(tmp_path / "data", smtp)
    await s.start()
    await s.setup_class()
    yield s
    await s.stop()
