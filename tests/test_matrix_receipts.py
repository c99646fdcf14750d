"""Matrix read receipts reach the core as ReadReceipt events (real Synapse)."""

from __future__ import annotations

import pytest

from bot.ports import OutboundMessage, ReadReceipt
from tests.matrix_harness.fixtures import AdapterFactory, ClientFactory

pytestmark = pytest.mark.synapse


async def test_a_parent_reading_the_bots_message_sends_a_read_receipt(
    make_adapter: AdapterFactory, make_client: ClientFactory
) -> None:
    adapter, sink = make_adapter()
    await adapter.connect(sink)
    parent = await make_client("parent")
    room_id = await parent.create_dm(adapter.user_id, encrypted=True)
    await parent.wait_joined(room_id, adapter.user_id)
    receipt = await adapter.send(OutboundMessage(room_id, "Un nouvel enregistrement !"))
    await parent.wait_for(lambda r: r.event_id == receipt.message_id)

    # Nothing is reported before the parent reads (the bot's own receipt is not one).
    assert not sink.matching(lambda e: isinstance(e, ReadReceipt))
    resp = await parent.client.update_receipt_marker(room_id, receipt.message_id)
    assert not hasattr(resp, "status_code") or resp.status_code is None, resp

    got = await sink.wait_for(lambda e: isinstance(e, ReadReceipt))
    assert got == ReadReceipt(room_id, got.reader, receipt.message_id)
    assert isinstance(got, ReadReceipt) and got.reader.user_id == parent.user_id
    assert not sink.matching(
        lambda e: isinstance(e, ReadReceipt) and e.reader.user_id == adapter.user_id
    )
