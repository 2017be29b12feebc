"""Fixtures for whole-system tests: real relays, control planes, Redis and FerretDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import Cluster, build_relay, running_cluster


@pytest.fixture(scope="session")
def relay_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_relay(tmp_path_factory.mktemp("relay-bin"))


@pytest.fixture(scope="module")
def shared_cluster(
    tmp_path_factory: pytest.TempPathFactory, relay_binary: Path
) -> Iterator[Cluster]:
    """3 relays + 2 control planes for tests that leave the system as they found it."""
    with running_cluster(
        tmp_path_factory.mktemp("cluster"), relay_binary, controls=2, relays=3, world_capacity=8
    ) as cluster:
        yield cluster


@pytest.fixture
def fresh_cluster(tmp_path: Path, relay_binary: Path) -> Iterator[Cluster]:
    """A cluster of its own for tests that kill, drain or restart things."""
    with running_cluster(tmp_path, relay_binary, controls=2, relays=3, world_capacity=8) as cluster:
        yield cluster
