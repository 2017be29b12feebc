// The TypeScript third of the shared-vector proof (tests/test_schema_vectors.py
// and relay-go's counterpart are the others): every vector in
// schemas/testdata/ is decoded and encoded again — protocol frames through the
// SDK's own codec (codec.ts / codec-mirror.ts, so through the SDK's types),
// relay <-> control-plane messages through the generated object API — and the
// pinned flatc must read the same JSON back from both byte strings.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as flatbuffers from "flatbuffers";
import { decodeServerFrame, encodeClientMessage } from "../../src/codec.js";
import { decodeClientFrame, encodeServerMessage } from "../../src/codec-mirror.js";
import { Message } from "../../../../schemas/gen/ts/plaza/protocol/message.js";
import { Envelope } from "../../../../schemas/gen/ts/plaza/protocol/envelope.js";
import { repoRoot } from "../repo.js";

const ROOT = repoRoot();
const TESTDATA = join(ROOT, "schemas", "testdata");
const FLATC = join(ROOT, ".venv", "bin", "flatc");

interface VectorEntry {
  name: string;
  schema: string;
  root_type: string;
}

const FILE_IDENTIFIERS: Record<string, string | undefined> = {
  "plaza.protocol.Envelope": "PLZP",
  "plaza.coord.WorldConfig": "PLZW",
  "plaza.coord.RelayHeartbeat": "PLZH",
  "plaza.coord.RelayCommand": "PLZC",
  "plaza.coord.RoomEvent": "PLZE",
  "plaza.coord.RoomStateSnapshot": undefined,
};

const CLIENT_MESSAGES = new Set([Message.Hello, Message.Move, Message.ChatSend, Message.EmoteSend, Message.StateSet, Message.Ping, Message.Leave]);

const vectors = (JSON.parse(readFileSync(join(TESTDATA, "vectors.json"), "utf8")) as { vectors: VectorEntry[] }).vectors;

function dropEmptyStrings(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropEmptyStrings);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== "")
        .map(([k, x]) => [k, dropEmptyStrings(x)]),
    );
  }
  return v;
}

/** What the pinned flatc reads from bytes, every default spelled out (as tests/schema_vectors.py). */
function flatcJson(schema: string, rootType: string, bytes: Uint8Array): unknown {
  const dir = mkdtempSync(join(tmpdir(), "plaza-vec-"));
  try {
    writeFileSync(join(dir, "msg.bin"), bytes);
    execFileSync(
      FLATC,
      ["--json", "--strict-json", "--defaults-json", "--raw-binary", "--root-type", rootType, "-I", join(ROOT, "schemas"), "-o", dir, join(ROOT, "schemas", schema), "--", join(dir, "msg.bin")],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    return dropEmptyStrings(JSON.parse(readFileSync(join(dir, "msg.json"), "utf8")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/** Decode with the generated object API (unpack) and encode again (pack). */
async function reencodeGenerated(rootType: string, bytes: Uint8Array): Promise<Uint8Array> {
  const [, ns, table] = rootType.split(".") as [string, string, string];
  const mod = (await import(`../../../../schemas/gen/ts/plaza/${ns}/${kebab(table)}.js`)) as Record<string, unknown>;
  const cls = mod[table] as Record<string, (bb: flatbuffers.ByteBuffer) => { unpack(): { pack(b: flatbuffers.Builder): number } }>;
  const root = cls[`getRootAs${table}`]!(new flatbuffers.ByteBuffer(bytes));
  const b = new flatbuffers.Builder(bytes.length);
  b.finish(root.unpack().pack(b), FILE_IDENTIFIERS[rootType]);
  return b.asUint8Array();
}

/** Decode with the SDK's codec into its own types and encode those again. */
function reencodeWithSdk(bytes: Uint8Array): Uint8Array {
  const type = Envelope.getRootAsEnvelope(new flatbuffers.ByteBuffer(bytes)).messageType();
  return CLIENT_MESSAGES.has(type) ? encodeClientMessage(decodeClientFrame(bytes)) : encodeServerMessage(decodeServerFrame(bytes));
}

test("flatc is installed (scripts/bootstrap.sh)", () => {
  assert.ok(existsSync(FLATC), `${FLATC} missing: run scripts/bootstrap.sh`);
});

test("the manifest names every protocol message", () => {
  const names = new Set(
    vectors.filter((v) => v.root_type === "plaza.protocol.Envelope").map((v) => (JSON.parse(readFileSync(join(TESTDATA, `${v.name}.json`), "utf8")) as { message_type: string }).message_type),
  );
  const declared = Object.keys(Message).filter((k) => Number.isNaN(Number(k)) && k !== "NONE");
  assert.deepEqual([...names].sort(), declared.sort());
});

for (const v of vectors) {
  test(`vector ${v.name} round-trips through the SDK`, async () => {
    const original = new Uint8Array(readFileSync(join(TESTDATA, `${v.name}.bin`)));
    const again = v.root_type === "plaza.protocol.Envelope" ? reencodeWithSdk(original) : await reencodeGenerated(v.root_type, original);
    const ident = FILE_IDENTIFIERS[v.root_type];
    if (ident !== undefined) assert.equal(new TextDecoder().decode(again.subarray(4, 8)), ident);
    assert.deepEqual(flatcJson(v.schema, v.root_type, again), flatcJson(v.schema, v.root_type, original));
  });
}
