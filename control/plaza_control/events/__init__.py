"""Relay events: the ``P events`` stream, consumed by the control plane. The
feature's one home, in files by role (the same layering as the rest of the
package, top to bottom; nothing imports upward):

- ``consumer``: the consumer-group loop (read, decode, apply, acknowledge).
- ``handlers``: the rules per consumer group (``control``: MongoDB records;
  ``seats``: seats in Redis) -- the services of the event side.
- ``reads``: what the routes read back (chat history, command acks, sessions).
- ``mongo``, ``redis``: the stores, the only event code that does I/O.
- ``contracts``: the stores' protocols, all handlers and reads see of them.
- ``models``: records written and read (chat lines, sessions, acks, dead letters).

``plaza_control.models`` holds the ``RoomEvent`` itself and ``plaza_control.codec``
decodes it (one codec for everything that crosses Redis). ``container.Services``
builds the stores, the reads and the consumers (no second container); the HTTP
side is in ``plaza_control.routes`` with every other route.
"""
