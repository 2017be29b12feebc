"""Fixtures for tests against a real Kubernetes control plane (contract: apiserver.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .apiserver import KubeCluster, running_kube_cluster


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """One etcd + kube-apiserver + kube-controller-manager for the whole session.

    Tests share it: each one works in a namespace of its own and deletes it.
    Missing tools fail the session with KubeToolsMissingError (never a skip).
    """
    with running_kube_cluster(tmp_path_factory.mktemp("kube")) as cluster:
        yield cluster
