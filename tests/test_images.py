"""The relay image built without a container engine (scripts/build_relay_image.sh):
a valid OCI layout whose config runs the static relay as a non-root user, with
no shell in the image, and the same image as a `docker load` tarball."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD = REPO_ROOT / "scripts" / "build_relay_image.sh"
ENTRYPOINT = "/plaza-relay"
SHELLS = {"bin/sh", "bin/bash", "bin/ash", "bin/dash", "bin/busybox", "usr/bin/sh", "usr/bin/env"}
PT_INTERP, PT_DYNAMIC = 3, 2


@dataclass
class Image:
    layout: Path
    tarball: Path
    manifest: dict[str, Any]
    config: dict[str, Any]
    layer_blobs: list[bytes]

    def layer(self) -> tarfile.TarFile:
        """The one layer, as a tar archive (the image has exactly one)."""
        (blob,) = self.layer_blobs
        return tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz")


def _blob(layout: Path, descriptor: dict[str, Any]) -> bytes:
    reference: str = descriptor["digest"]
    algorithm, digest = reference.split(":", 1)
    assert algorithm == "sha256"
    data = (layout / "blobs" / "sha256" / digest).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest, "blob content does not match its digest"
    assert len(data) == descriptor["size"]
    return data


def _chart_app_version() -> str:
    for line in (REPO_ROOT / "charts" / "plaza" / "Chart.yaml").read_text().splitlines():
        if line.startswith("appVersion:"):
            return line.split(":", 1)[1].strip().strip('"')
    raise AssertionError("no appVersion in Chart.yaml")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    out = tmp_path_factory.mktemp("images")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAZA_IMAGE")}
    subprocess.run([str(BUILD), str(out)], check=True, timeout=900, env=env)
    layout = out / "plaza-relay"
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    (descriptor,) = index["manifests"]
    assert descriptor["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    manifest = json.loads(_blob(layout, descriptor))
    config = json.loads(_blob(layout, manifest["config"]))
    layers = [_blob(layout, d) for d in manifest["layers"]]
    return Image(layout, out / "plaza-relay.tar", manifest, config, layers)


def test_reference_is_the_charts_default(image: Image) -> None:
    index = json.loads((image.layout / "index.json").read_text())
    ref = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
    assert ref == f"ghcr.io/plaza-dev/plaza-relay:{_chart_app_version()}"


def test_config_runs_the_relay_as_non_root(image: Image) -> None:
    assert image.manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert image.config["os"] == "linux"
    cfg = image.config["config"]
    assert cfg["User"] == "65532:65532"
    assert cfg["Entrypoint"] == [ENTRYPOINT]
    assert "Cmd" not in cfg or not cfg["Cmd"]
    assert set(cfg["ExposedPorts"]) == {"8100/tcp", "8200/tcp"}


def test_config_has_oci_labels(image: Image) -> None:
    labels = image.config["config"]["Labels"]
    revision = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert labels["org.opencontainers.image.title"] == "plaza-relay"
    assert labels["org.opencontainers.image.version"] == _chart_app_version()
    assert labels["org.opencontainers.image.revision"] == revision
    assert labels["org.opencontainers.image.source"] == "https://github.com/plaza-dev/plaza"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.created"] == image.config["created"]


def test_layer_holds_only_the_relay_and_its_files(image: Image) -> None:
    with image.layer() as layer:
        members = {m.name.rstrip("/"): m for m in layer.getmembers()}
        passwd = layer.extractfile("etc/passwd")
        assert passwd is not None
        users = passwd.read().decode()
    assert not SHELLS & set(members), "the image must not contain a shell"
    files = {n for n, m in members.items() if m.isfile()}
    assert files == {
        "plaza-relay",
        "etc/passwd",
        "etc/group",
        "etc/ssl/certs/ca-certificates.crt",
    }
    assert members["plaza-relay"].mode == 0o755
    assert members["tmp"].isdir()
    assert members["tmp"].mode == 0o1777
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    assert "nonroot:x:65532:65532:" in users


def _program_header_types(elf: bytes) -> set[int]:
    assert elf[:4] == b"\x7fELF", "not an ELF file"
    assert elf[4] == 2, "want a 64-bit ELF"
    assert elf[5] == 1, "want a little-endian ELF"
    phoff = struct.unpack_from("<Q", elf, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    return {struct.unpack_from("<I", elf, phoff + i * phentsize)[0] for i in range(phnum)}


def test_binary_is_static_and_starts(image: Image, tmp_path: Path) -> None:
    with image.layer() as layer:
        member = layer.extractfile("plaza-relay")
        assert member is not None
        binary = member.read()
    types = _program_header_types(binary)
    assert PT_INTERP not in types, "the relay needs a dynamic loader (not static)"
    assert PT_DYNAMIC not in types, "the relay links shared libraries (not static)"
    path = tmp_path / "plaza-relay"
    path.write_bytes(binary)
    path.chmod(0o755)
    # An empty environment, as in the image: no PATH, no HOME.
    result = subprocess.run(
        [str(path), "--help"], capture_output=True, text=True, timeout=30, env={}, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "-listen" in result.stderr


def test_tarball_is_loadable_with_the_same_image(image: Image) -> None:
    with tarfile.open(image.tarball) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        (entry,) = json.load(manifest_file)
        assert entry["RepoTags"] == [f"ghcr.io/plaza-dev/plaza-relay:{_chart_app_version()}"]
        config_file = tar.extractfile(entry["Config"])
        assert config_file is not None
        assert json.load(config_file)["config"] == image.config["config"]


def test_build_is_reproducible(image: Image, tmp_path: Path) -> None:
    """Same commit, same image digest: times come from the commit, not the clock."""
    subprocess.run([str(BUILD), str(tmp_path)], check=True, timeout=900, capture_output=True)
    first = json.loads((image.layout / "index.json").read_text())["manifests"][0]["digest"]
    again = json.loads((tmp_path / "plaza-relay" / "index.json").read_text())
    assert again["manifests"][0]["digest"] == first


def _final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile's last stage, continuations joined."""
    logical: list[str] = []
    pending = ""
    for line in dockerfile.read_text().splitlines():
        if line.lstrip().startswith("#") and not pending:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        if (pending + line).strip():
            logical.append(pending + line)
        pending = ""
    instructions = [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in logical]
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_dockerfile_final_stage_matches_the_offline_image(image: Image) -> None:
    """relay-go/Dockerfile and scripts/build_relay_image.sh describe one image."""
    stage = _final_stage(REPO_ROOT / "relay-go" / "Dockerfile")
    ops = dict(stage)
    cfg = image.config["config"]
    assert ops["FROM"].startswith("gcr.io/distroless/static")
    assert ops["USER"] == cfg["User"]
    assert json.loads(ops["ENTRYPOINT"]) == cfg["Entrypoint"]
    assert set(ops["EXPOSE"].split()) == set(cfg["ExposedPorts"])
    assert "COPY --from=build /out/plaza-relay /plaza-relay" in {f"{o} {a}" for o, a in stage}
    labels = {
        part.split("=", 1)[0]
        for op, args in stage
        if op == "LABEL"
        for part in args.split()
        if "=" in part and part.startswith("org.")
    }
    assert labels == set(cfg["Labels"])
