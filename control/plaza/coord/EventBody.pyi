from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from flatbuffers import table
from plaza.coord.ChatMessageEvent import ChatMessageEvent
from plaza.coord.CommandAck import CommandAck
from plaza.coord.MemberJoinedEvent import MemberJoinedEvent
from plaza.coord.MemberLeftEvent import MemberLeftEvent
from plaza.coord.RoomClosedEvent import RoomClosedEvent
from plaza.coord.StateChangedEvent import StateChangedEvent
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class EventBody(object):
  NONE = cast(int, ...)
  MemberJoinedEvent = cast(int, ...)
  MemberLeftEvent = cast(int, ...)
  ChatMessageEvent = cast(int, ...)
  StateChangedEvent = cast(int, ...)
  RoomClosedEvent = cast(int, ...)
  CommandAck = cast(int, ...)
def EventBodyCreator(union_type: typing.Literal[EventBody.NONE, EventBody.MemberJoinedEvent, EventBody.MemberLeftEvent, EventBody.ChatMessageEvent, EventBody.StateChangedEvent, EventBody.RoomClosedEvent, EventBody.CommandAck], table: table.Table) -> typing.Union[None, MemberJoinedEvent, MemberLeftEvent, ChatMessageEvent, StateChangedEvent, RoomClosedEvent, CommandAck]: ...

