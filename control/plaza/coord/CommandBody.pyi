from __future__ import annotations

import flatbuffers
import numpy as np

import typing
from flatbuffers import table
from plaza.coord.Announce import Announce
from plaza.coord.CloseRoom import CloseRoom
from plaza.coord.Drain import Drain
from plaza.coord.Kick import Kick
from plaza.coord.Mute import Mute
from plaza.coord.ReloadConfig import ReloadConfig
from plaza.coord.Unmute import Unmute
from typing import cast

uoffset: typing.TypeAlias = flatbuffers.number_types.UOffsetTFlags.py_type

class CommandBody(object):
  NONE = cast(int, ...)
  Kick = cast(int, ...)
  Mute = cast(int, ...)
  Unmute = cast(int, ...)
  CloseRoom = cast(int, ...)
  Announce = cast(int, ...)
  Drain = cast(int, ...)
  ReloadConfig = cast(int, ...)
def CommandBodyCreator(union_type: typing.Literal[CommandBody.NONE, CommandBody.Kick, CommandBody.Mute, CommandBody.Unmute, CommandBody.CloseRoom, CommandBody.Announce, CommandBody.Drain, CommandBody.ReloadConfig], table: table.Table) -> typing.Union[None, Kick, Mute, Unmute, CloseRoom, Announce, Drain, ReloadConfig]: ...

