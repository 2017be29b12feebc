"""ASGI entry for servers that import an app factory by name:
``plaza_control.asgi:app_from_env`` (settings from the environment)."""

from __future__ import annotations

from litestar import Litestar

from plaza_control.app import create_app
from plaza_control.settings import Settings


def app_from_env() -> Litestar:
    return create_app(Settings.from_env())
