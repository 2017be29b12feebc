from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from flatbuffers import table
from plaza.protocol.Announcement import AnnouncementT
from plaza.protocol.ChatMessage import ChatMessageT
from plaza.protocol.ChatSend import ChatSendT
from plaza.protocol.DisconnectNotice import DisconnectNoticeT
from plaza.protocol.EmotePlayed import EmotePlayedT
from plaza.protocol.EmoteSend import EmoteSendT
from plaza.protocol.Error import ErrorT
from plaza.protocol.Hello import HelloT
from plaza.protocol.Leave import LeaveT
from plaza.protocol.MemberJoined import MemberJoinedT
from plaza.protocol.MemberLeft import MemberLeftT
from plaza.protocol.Message import Message
from plaza.protocol.Move import MoveT
from plaza.protocol.MovementBatch import MovementBatchT
from plaza.protocol.Ping import PingT
from plaza.protocol.Pong import PongT
from plaza.protocol.StateChanged import StateChangedT
from plaza.protocol.StateSet import StateSetT
from plaza.protocol.Welcome import WelcomeT

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class Envelope(object):
  @classmethod
  def GetRootAs(cls, buf: bytes, offset: int) -> Envelope: ...
  @classmethod
  def GetRootAsEnvelope(cls, buf: bytes, offset: int) -> Envelope: ...
  @classmethod
  def EnvelopeBufferHasIdentifier(cls, buf: bytes, offset: int, size_prefixed: bool) -> bool: ...
  def Init(self, buf: bytes, pos: int) -> None: ...
  def MessageType(self) -> typing.Literal[Message.NONE, Message.Hello, Message.Welcome, Message.MemberJoined, Message.MemberLeft, Message.Move, Message.MovementBatch, Message.ChatSend, Message.ChatMessage, Message.EmoteSend, Message.EmotePlayed, Message.StateSet, Message.StateChanged, Message.Ping, Message.Pong, Message.Error, Message.DisconnectNotice, Message.Announcement, Message.Leave]: ...
  def Message(self) -> table.Table | None: ...
class EnvelopeT(object):
  messageType: typing.Literal[Message.NONE, Message.Hello, Message.Welcome, Message.MemberJoined, Message.MemberLeft, Message.Move, Message.MovementBatch, Message.ChatSend, Message.ChatMessage, Message.EmoteSend, Message.EmotePlayed, Message.StateSet, Message.StateChanged, Message.Ping, Message.Pong, Message.Error, Message.DisconnectNotice, Message.Announcement, Message.Leave]
  message: typing.Union[None, HelloT, WelcomeT, MemberJoinedT, MemberLeftT, MoveT, MovementBatchT, ChatSendT, ChatMessageT, EmoteSendT, EmotePlayedT, StateSetT, StateChangedT, PingT, PongT, ErrorT, DisconnectNoticeT, AnnouncementT, LeaveT]
  def __init__(
    self,
    messageType: typing.Literal[Message.NONE, Message.Hello, Message.Welcome, Message.MemberJoined, Message.MemberLeft, Message.Move, Message.MovementBatch, Message.ChatSend, Message.ChatMessage, Message.EmoteSend, Message.EmotePlayed, Message.StateSet, Message.StateChanged, Message.Ping, Message.Pong, Message.Error, Message.DisconnectNotice, Message.Announcement, Message.Leave] = ...,
    message: typing.Union[None, HelloT, WelcomeT, MemberJoinedT, MemberLeftT, MoveT, MovementBatchT, ChatSendT, ChatMessageT, EmoteSendT, EmotePlayedT, StateSetT, StateChangedT, PingT, PongT, ErrorT, DisconnectNoticeT, AnnouncementT, LeaveT] = ...,
  ) -> None: ...
  @classmethod
  def InitFromBuf(cls, buf: bytes, pos: int) -> EnvelopeT: ...
  @classmethod
  def InitFromPackedBuf(cls, buf: bytes, pos: int = 0) -> EnvelopeT: ...
  @classmethod
  def InitFromObj(cls, envelope: Envelope) -> EnvelopeT: ...
  def _UnPack(self, envelope: Envelope) -> None: ...
  def Pack(self, builder: flatbuffers.Builder) -> None: ...
def EnvelopeStart(builder: flatbuffers.Builder) -> None: ...
def Start(builder: flatbuffers.Builder) -> None: ...
def EnvelopeAddMessageType(builder: flatbuffers.Builder, messageType: typing.Literal[Message.NONE, Message.Hello, Message.Welcome, Message.MemberJoined, Message.MemberLeft, Message.Move, Message.MovementBatch, Message.ChatSend, Message.ChatMessage, Message.EmoteSend, Message.EmotePlayed, Message.StateSet, Message.StateChanged, Message.Ping, Message.Pong, Message.Error, Message.DisconnectNotice, Message.Announcement, Message.Leave]) -> None: ...
def EnvelopeAddMessage(builder: flatbuffers.Builder, message: uoffset) -> None: ...
def EnvelopeEnd(builder: flatbuffers.Builder) -> uoffset: ...
def End(builder: flatbuffers.Builder) -> uoffset: ...

