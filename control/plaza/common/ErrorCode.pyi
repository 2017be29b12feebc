from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class ErrorCode(object):
  Unknown = cast(int, ...)
  MalformedFrame = cast(int, ...)
  UnknownMessage = cast(int, ...)
  RateLimited = cast(int, ...)
  ChatTooLong = cast(int, ...)
  ChatInvalidUtf8 = cast(int, ...)
  ChatEmpty = cast(int, ...)
  Muted = cast(int, ...)
  StateKeyInvalid = cast(int, ...)
  StateValueTooLarge = cast(int, ...)
  StateTooManyKeys = cast(int, ...)
  StateVersionConflict = cast(int, ...)
  NotPermitted = cast(int, ...)
  DuplicateHello = cast(int, ...)
  EmoteInvalid = cast(int, ...)
  NotClientMessage = cast(int, ...)

