from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class LeaveReason(object):
  Left = cast(int, ...)
  Disconnected = cast(int, ...)
  Kicked = cast(int, ...)
  TimedOut = cast(int, ...)
  Moved = cast(int, ...)
  RoomClosed = cast(int, ...)
  Drained = cast(int, ...)
  SlowConsumer = cast(int, ...)
  Replaced = cast(int, ...)

