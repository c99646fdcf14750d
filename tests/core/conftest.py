from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.core.harness import Stage


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    s = Stage(tmp_path / "data")
    await s.start()
    yield s
    await s.stop()
