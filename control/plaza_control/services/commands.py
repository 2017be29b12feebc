"""Commands to relays: recorded, then published in the schema's format."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import msgspec

from plaza_control import codec
from plaza_control.clock import Clock
from plaza_control.models import CommandBodyT, CommandRecord
from plaza_control.repositories.base import CommandBus, CommandRepository

#: ``ack_detail`` of a command no relay process could receive.
UNDELIVERABLE_DETAIL = "no relay was subscribed to its channel when it was sent"


class CommandService:
    def __init__(
        self,
        records: CommandRepository,
        bus: CommandBus,
        clock: Clock,
        deadline_ms: int = 30_000,
        sent: Callable[[str], None] | None = None,
    ) -> None:
        self._records = records
        self._bus = bus
        self._clock = clock
        self._deadline_ms = deadline_ms
        #: Called with the kind of every published command (the commands metric).
        self._sent = sent or (lambda _kind: None)

    async def expire_overdue(self) -> int:
        """Commands still ``pending`` past their deadline become ``expired``: pub/sub
        delivers at most once, so one no relay received would wait forever."""
        return await self._records.expire(self._clock(), self._deadline_ms)

    async def send(self, issued_by: str, relay_id: str, body: CommandBodyT) -> CommandRecord:
        """Record the command (ack ``pending``) before publishing it, so an ack can
        never arrive for a command that is not on record. ``relay_id`` '' broadcasts.
        When no relay process is subscribed to the channel, the record starts
        ``undeliverable`` (final) instead of waiting for its deadline; it is
        published anyway, so a relay subscribing in that instant still acts."""
        now = self._clock()
        cid = str(uuid.uuid4())
        builtins = msgspec.to_builtins(body)
        kind = str(builtins.pop("type"))
        # Counted before the insert, not written after the publish: an ack
        # may arrive at once, and FerretDB's updates are not atomic (a
        # second update of the record could lose it).
        receivers = await self._bus.subscribers(relay_id)
        record = CommandRecord(
            id=cid,
            at_ms=now,
            issued_by=issued_by,
            target_relay_id=relay_id,
            kind=kind,
            body=builtins,
            deadline_ms=now + self._deadline_ms,
            receivers=receivers,
            ack="undeliverable" if receivers == 0 else "pending",
            ack_detail=UNDELIVERABLE_DETAIL if receivers == 0 else "",
        )
        await self._records.insert(record)
        await self._bus.publish(relay_id, codec.encode_command(cid, relay_id, issued_by, now, body))
        self._sent(kind)
        return record
