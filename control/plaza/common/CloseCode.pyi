from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class CloseCode(object):
  None_ = cast(int, ...)
  Normal = cast(int, ...)
  GoingAway = cast(int, ...)
  MessageTooBig = cast(int, ...)
  InternalError = cast(int, ...)
  HelloTimeout = cast(int, ...)
  TicketExpired = cast(int, ...)
  TicketUnknownKey = cast(int, ...)
  TicketReplayed = cast(int, ...)
  SlowConsumer = cast(int, ...)
  IdleTimeout = cast(int, ...)
  Draining = cast(int, ...)
  RoomClosed = cast(int, ...)
  RoomFull = cast(int, ...)
  ServerOverloaded = cast(int, ...)
  HelloExpected = cast(int, ...)
  TicketMalformed = cast(int, ...)
  TicketSignature = cast(int, ...)
  TicketWrongRelay = cast(int, ...)
  TicketWrongRoom = cast(int, ...)
  ProtocolViolation = cast(int, ...)
  Abuse = cast(int, ...)
  Kicked = cast(int, ...)
  Banned = cast(int, ...)
  Replaced = cast(int, ...)
  UnsupportedVersion = cast(int, ...)

