from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from flatbuffers import table
from plaza.protocol.Announcement import Announcement
from plaza.protocol.ChatMessage import ChatMessage
from plaza.protocol.ChatSend import ChatSend
from plaza.protocol.DisconnectNotice import DisconnectNotice
from plaza.protocol.EmotePlayed import EmotePlayed
from plaza.protocol.EmoteSend import EmoteSend
from plaza.protocol.Error import Error
from plaza.protocol.Hello import Hello
from plaza.protocol.Leave import Leave
from plaza.protocol.MemberJoined import MemberJoined
from plaza.protocol.MemberLeft import MemberLeft
from plaza.protocol.Move import Move
from plaza.protocol.MovementBatch import MovementBatch
from plaza.protocol.Ping import Ping
from plaza.protocol.Pong import Pong
from plaza.protocol.StateChanged import StateChanged
from plaza.protocol.StateSet import StateSet
from plaza.protocol.Welcome import Welcome
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class Message(object):
  NONE = cast(int, ...)
  Hello = cast(int, ...)
  Welcome = cast(int, ...)
  MemberJoined = cast(int, ...)
  MemberLeft = cast(int, ...)
  Move = cast(int, ...)
  MovementBatch = cast(int, ...)
  ChatSend = cast(int, ...)
  ChatMessage = cast(int, ...)
  EmoteSend = cast(int, ...)
  EmotePlayed = cast(int, ...)
  StateSet = cast(int, ...)
  StateChanged = cast(int, ...)
  Ping = cast(int, ...)
  Pong = cast(int, ...)
  Error = cast(int, ...)
  DisconnectNotice = cast(int, ...)
  Announcement = cast(int, ...)
  Leave = cast(int, ...)
def MessageCreator(union_type: typing.Literal[Message.NONE, Message.Hello, Message.Welcome, Message.MemberJoined, Message.MemberLeft, Message.Move, Message.MovementBatch, Message.ChatSend, Message.ChatMessage, Message.EmoteSend, Message.EmotePlayed, Message.StateSet, Message.StateChanged, Message.Ping, Message.Pong, Message.Error, Message.DisconnectNotice, Message.Announcement, Message.Leave], table: table.Table) -> typing.Union[None, Hello, Welcome, MemberJoined, MemberLeft, Move, MovementBatch, ChatSend, ChatMessage, EmoteSend, EmotePlayed, StateSet, StateChanged, Ping, Pong, Error, DisconnectNotice, Announcement, Leave]: ...

