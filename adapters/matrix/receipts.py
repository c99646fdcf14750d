"""Read receipts (``m.read``) of the bot's messages, as port events.

nio runs ephemeral callbacks inside ``sync`` itself; a receipt lost to a
crash only loses a "seen" mark, so nothing is replayed for them. Private
receipts (``m.read.private``) never reach the bot: families who turned
receipts off are simply not counted as having seen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nio import MatrixRoom, ReceiptEvent

from bot.ports import InboundSink, ReadReceipt, Sender

log = logging.getLogger(__name__)

ReceiptCallback = Callable[[MatrixRoom, ReceiptEvent], Awaitable[None]]


def receipt_callback(own_user_id: str, sink: InboundSink) -> ReceiptCallback:
    async def on_receipt(room: MatrixRoom, event: ReceiptEvent) -> None:
        for receipt in event.receipts:
            if receipt.receipt_type != "m.read" or receipt.user_id == own_user_id:
                continue
            try:
                await sink(ReadReceipt(room.room_id, Sender(receipt.user_id), receipt.event_id))
            except Exception:  # a failed "seen" mark must not break the sync
                log.warning("matrix: a read receipt could not be recorded", exc_info=True)

    return on_receipt
