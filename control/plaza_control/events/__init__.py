"""Relay events: the ``P events`` stream consumed by the control plane.

``codec`` turns ``RoomEvent`` FlatBuffers into msgspec structs, ``consumer`` runs
the consumer group loop, ``metrics`` holds its Prometheus series. The rules for
each event live in ``plaza_control.services.events``.
"""
