"""Two real service processes on one PostgreSQL database and one data
directory (a shared volume), with a real Synapse: one runs the Matrix
account, the other waits. The holder is killed with SIGKILL; the other takes
the account over within 30 s, opens the same encryption store, and the next
recording reaches every family, decrypted by their clients, while none of
the earlier ones comes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from adapters.matrix.devkit.synapse import RegisteredUser, SynapseServer
from tests.core.harness import sample
from tests.matrix_harness.chats import keep_syncing, title, until
from tests.matrix_harness.fixtures import ClientFactory
from tests.matrix_harness.service import matrix_section, matrix_service, set_up_class
from tests.postgres_server import PostgresServer
from tests.service_process import holder_pid, write_config

pytestmark = [pytest.mark.synapse, pytest.mark.timeout(300)]

TAKEOVER_LIMIT_S = 30.0


async def test_a_second_process_takes_the_matrix_account_over_after_sigkill(
    make_client: ClientFactory,
    bot_user: RegisteredUser,
    synapse: SynapseServer,
    postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    url = postgres.fresh_database()
    config = write_config(
        tmp_path / "petites-voix.toml",
        tmp_path / "data",
        database=url,
        matrix=matrix_section(synapse.url, bot_user),
    )
    account = f"matrix:{bot_user.user_id}"
    first = matrix_service(config, tmp_path / "first.log")
    second = matrix_service(config, tmp_path / "second.log")
    voice = sample("loup_groupe3_voice.ogg")
    loop = asyncio.get_running_loop()
    syncing: asyncio.Task[None] | None = None
    try:
        room, parents = await set_up_class(make_client, bot_user, first, config)
        assert first.proc is not None
        first_pid = first.proc.pid
        assert holder_pid(url, account) == first_pid
        await second.start()
        assert second.proc is not None
        syncing = asyncio.create_task(keep_syncing([p.client for p in parents]))

        await room.client.send_audio(
            room.room_id, voice, mime="audio/ogg", voice=True, caption=title(0)
        )
        await until(lambda: all(p.voices(0) for p in parents), "recording 0 to every family")
        # The waiting process never took the account while its holder lived.
        assert holder_pid(url, account) == first_pid

        await first.kill()
        killed_at = loop.time()
        await until(
            lambda: holder_pid(url, account) == second.proc.pid if second.proc else False,
            "the second process takes the Matrix account over",
            wait_s=TAKEOVER_LIMIT_S,
        )
        takeover_s = loop.time() - killed_at

        await room.client.send_audio(
            room.room_id, voice, mime="audio/ogg", voice=True, caption=title(1)
        )
        await until(lambda: all(p.voices(1) for p in parents), "recording 1 to every family")
        delivered_s = loop.time() - killed_at
        await asyncio.sleep(1.0)  # anything sent twice would show by now
    except AssertionError:
        print(first.tail(), second.tail())
        raise
    finally:
        if syncing is not None:
            syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncing
        await second.stop()
        await first.stop()
    for p in parents:
        await p.client.sync()
    print(
        f"\nMatrix takeover: {takeover_s:.1f} s after SIGKILL, recording 1 delivered "
        f"{delivered_s:.1f} s after it, {len(parents)} families"
    )
    assert [len(p.voices(n)) for p in parents for n in (0, 1)] == [1] * 2 * len(parents)
    assert sum(len(p.client.undecryptable) for p in parents) == 0
