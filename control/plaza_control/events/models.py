"""Records of the event side: what the ``control`` group writes to MongoDB and
the ops API reads back, and the stream entries both groups read. Data only;
the stores' contracts are in ``events.contracts``. Times are Unix milliseconds."""

from __future__ import annotations

from typing import Literal

import msgspec

from plaza_control.models import CommandAck


class ChatRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One chat line; ``id`` is the relay's event id (the idempotency key)."""

    id: str
    room_id: str
    world_id: str
    sequence: int
    user_id: str
    display_name: str
    text: str
    occurred_at_ms: int
    relay_id: str
    #: The room lifetime the line was said in (decisions/009); 0 for lines of a
    #: relay older than that (and for lines stored before it).
    room_lifetime: int = 0


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One stay of a user in a room on a relay. ``status`` is ``active`` until the
    relay reports the member left. Fields of the event not yet seen are zero."""

    id: str
    user_id: str
    room_id: str
    world_id: str
    relay_id: str
    display_name: str = ""
    member_id: int = 0
    status: Literal["active", "completed"] = "active"
    joined_at_ms: int = 0
    left_at_ms: int = 0
    leave_reason: str = ""
    duration_ms: int = 0


class RelayAck(msgspec.Struct, frozen=True, kw_only=True):
    relay_id: str
    ok: bool
    detail: str
    at_ms: int
    #: Sessions or rooms the relay says it affected (parsed from ``detail``,
    #: "announce affected 7"); null when its detail names no count.
    affected: int | None = None


class CommandStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A command as the ops API shows it: the record plus every relay's ack.
    ``ack``: a targeted command takes its relay's answer; a broadcast is ``ok``
    once one relay acknowledged and ``failed`` once any relay failed;
    ``expired`` (final) when no relay acknowledged it by ``deadline_ms``. An ack
    arriving after that is kept in ``acks`` but changes ``ack`` no more.
    ``undeliverable`` when no relay process was subscribed to its channel as it
    was sent (``receivers`` 0)."""

    #: ``command_id`` on the wire, as in the answers of the ops actions.
    id: str = msgspec.field(name="command_id")
    at_ms: int
    issued_by: str
    target_relay_id: str
    kind: str
    body: dict[str, object]
    ack: CommandAck = "pending"
    ack_detail: str = ""
    deadline_ms: int = 0
    #: First acknowledgement; 0 while pending.
    acked_at_ms: int = 0
    acks: list[RelayAck] = msgspec.field(default_factory=list)
    #: Relay processes that received it (``CommandRecord.receivers``; -1 unknown).
    receivers: int = -1
    #: The sum of the relays' ``affected``: for a broadcast, the total.
    affected: int = 0
    #: Relays that answered, and how many of them failed.
    relays_acked: int = 0
    relays_failed: int = 0


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    #: ``<stream name>/<entry id>``: a redelivered entry is stored once.
    id: str
    stream: str
    entry_id: str
    error: str
    at_ms: int
    #: The entry's fields, values as received (bytes).
    fields: dict[str, bytes]


#: One stream entry: its id and its fields (raw bytes). An entry trimmed
#: (MAXLEN) while pending comes back with no fields.
Entry = tuple[str, dict[bytes, bytes]]


class GroupInfo(msgspec.Struct, frozen=True):
    """Entries delivered but not acknowledged, and entries not yet delivered
    (``lag``; -1 when Redis cannot tell, e.g. after a trim)."""

    pending: int
    lag: int
