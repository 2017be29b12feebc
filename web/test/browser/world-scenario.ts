// The browser scenario of `make test` (tests/browser/test_web_world.py runs
// it against real relays and control planes): two players in Chromium join
// one room and see each other, move, chat in order and share the light; Alice
// writes the whiteboard note, Bob's save over her newer one is refused with a
// visible conflict and his retry wins; a relay is drained and both end up in
// the same room on the other relay with the light and the note as they were
// and no chat lost; an operator opens the console, lists the room's members,
// finds Alice by name and sees her room, creates an API key (a viewer: 403 on
// the key list) and revokes it (401), and kicks Bob, who is told why and
// stays out.
//
// Input (environment): PLAZA_SCENARIO_CONTROL_URL (the control plane serving
// the built app), PLAZA_SCENARIO_API_KEY (an admin key; read from the
// environment, never from argv or a URL), PLAZA_SCENARIO_OUT (a folder for
// screenshots), PLAZA_CHROMIUM (default /usr/bin/chromium).
// Output: one JSON object on stdout; exit 1 with the failing step on stderr.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

interface Avatar {
  name: string;
  userId: string;
  self: boolean;
  x: number;
  z: number;
}

interface WorldSnapshot {
  status: string;
  ended: boolean;
  roomId: string | null;
  relayId: string | null;
  sequence: number;
  light: "on" | "off";
  note: NoteView;
  rttMs: number | null;
  avatars: Avatar[];
}

interface NoteView {
  text: string;
  version: number;
  shown: string;
  editing: boolean;
  stale: boolean;
  conflict: string | null;
}

interface LogLine {
  seq: number;
  kind: string;
  text: string;
}

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (!v) throw new Error(`set ${name}`);
  return v;
}

const CONTROL = env("PLAZA_SCENARIO_CONTROL_URL").replace(/\/$/, "");
const KEY = env("PLAZA_SCENARIO_API_KEY");
const OUT = env("PLAZA_SCENARIO_OUT");
const CHROMIUM = env("PLAZA_CHROMIUM", "/usr/bin/chromium");
const KICK_REASON = "scenario: kicked to test the console";

const steps: { step: string; ms: number }[] = [];
const screenshots: string[] = [];
const pageErrors: string[] = [];
/** Every page opened, shot once more if a step fails. */
const openPages: Page[] = [];

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  process.stderr.write(`scenario: ${name}…\n`);
  try {
    const out = await run();
    steps.push({ step: name, ms: Date.now() - t0 });
    return out;
  } catch (err) {
    throw new Error(`step "${name}" failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Polls `probe` every 100 ms until it returns a value that is not undefined. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = "";
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

async function ops<T>(method: string, path: string, body?: unknown): Promise<T> {
  const resp = await fetch(`${CONTROL}${path}`, {
    method,
    headers: { "x-api-key": KEY, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function roomRelay(roomId: string): Promise<string | undefined> {
  const page = await ops<{ items: { room_id: string; relay_id: string }[] }>("GET", "/v1/ops/rooms?limit=500");
  return page.items.find((r) => r.room_id === roomId)?.relay_id;
}

function snapshot(page: Page): Promise<WorldSnapshot> {
  return page.evaluate(() => (window as unknown as { plazaWorld: { snapshot(): WorldSnapshot } }).plazaWorld.snapshot());
}

function chatLines(page: Page): Promise<LogLine[]> {
  return page.$$eval("[data-testid=chat-log] li", (lis) =>
    lis.map((li) => ({
      seq: Number(li.getAttribute("data-seq")),
      kind: li.getAttribute("data-kind") ?? "",
      text: (li.querySelector(".text")?.textContent ?? li.textContent ?? "").trim(),
    })),
  );
}

async function memberNames(page: Page): Promise<string[]> {
  return page.$$eval("[data-testid=members] li", (lis) => lis.map((li) => li.getAttribute("data-name") ?? ""));
}

async function shoot(page: Page, name: string): Promise<void> {
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path });
  screenshots.push(path);
}

async function openPlayer(browser: Browser, name: string, query: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  openPages.push(page);
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  await page.goto(`${CONTROL}/play/${query}`);
  await page.fill("[data-testid=display-name]", name);
  await page.click("[data-testid=join]");
  await until(`${name} connected`, async () => {
    const s = await snapshot(page).catch(() => undefined);
    return s?.status === "connected" ? s : undefined;
  });
  return page;
}

/** The chat texts among `wanted` in the order the page shows them. */
async function ordered(page: Page, wanted: readonly string[]): Promise<string[]> {
  const lines = await chatLines(page);
  const chats = lines.filter((l) => l.kind === "chat" && wanted.includes(l.text));
  for (let i = 1; i < chats.length; i++) {
    if (chats[i]!.seq <= chats[i - 1]!.seq) throw new Error(`chat out of sequence order: ${JSON.stringify(chats)}`);
  }
  return chats.map((l) => l.text);
}

async function sendChat(page: Page, text: string): Promise<void> {
  await page.fill("[data-testid=chat-input]", text);
  await page.press("[data-testid=chat-input]", "Enter");
}

function avatar(s: WorldSnapshot, name: string): Avatar | undefined {
  return s.avatars.find((a) => a.name === name);
}

async function main(): Promise<Record<string, unknown>> {
  mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
  try {
    const alice = await step("Alice joins the lobby", () => openPlayer(browser, "Alice", "?world=lobby"));
    const roomId = (await snapshot(alice)).roomId;
    if (!roomId) throw new Error("Alice has no room");
    const bob = await step("Bob joins Alice's room", () => openPlayer(browser, "Bob", `?world=lobby&room=${encodeURIComponent(roomId)}`));

    await step("each sees the other appear", async () => {
      await until("Bob in Alice's member list", async () => ((await memberNames(alice)).includes("Bob") ? true : undefined));
      await until("Alice in Bob's member list", async () => ((await memberNames(bob)).includes("Alice") ? true : undefined));
      await until("Bob's avatar on Alice's canvas", async () => (avatar(await snapshot(alice), "Bob") ? true : undefined));
      const bs = await snapshot(bob);
      if (bs.roomId !== roomId) throw new Error(`Bob is in ${bs.roomId}, not ${roomId}`);
    });

    const moved = await step("Alice walks (keyboard, then a click) and Bob sees her move", async () => {
      const start = avatar(await snapshot(alice), "Alice")!;
      await alice.focus("[data-testid=room-canvas]");
      await alice.keyboard.down("d");
      await alice.waitForTimeout(600);
      await alice.keyboard.up("d");
      const walked = avatar(await snapshot(alice), "Alice")!;
      if (walked.x < start.x + 1) throw new Error(`D did not walk Alice right: ${start.x} -> ${walked.x}`);
      await until("Bob sees Alice where she stopped", async () => {
        const a = avatar(await snapshot(bob), "Alice");
        return a && Math.hypot(a.x - walked.x, a.z - walked.z) < 0.3 ? a : undefined;
      });
      // A click on the canvas centre walks to the room's centre (20, 20 m).
      const box = (await alice.locator("[data-testid=room-canvas]").boundingBox())!;
      await alice.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      const seen = await until("Bob sees Alice at the clicked spot", async () => {
        const a = avatar(await snapshot(bob), "Alice");
        return a && Math.hypot(a.x - 20, a.z - 20) < 0.5 ? a : undefined;
      }, 20000);
      return { start, walked, clicked: seen };
    });

    const before = ["one", "two", "three", "four from Bob"];
    await step("chat arrives in order on both pages", async () => {
      await sendChat(alice, "one");
      await sendChat(alice, "two");
      await sendChat(alice, "three");
      await until("Bob sees Alice's three lines", async () => ((await ordered(bob, before)).length === 3 ? true : undefined));
      await sendChat(bob, "four from Bob");
      for (const [who, page] of [["Alice", alice], ["Bob", bob]] as const) {
        const got = await until(`${who} sees all four lines`, async () => {
          const o = await ordered(page, before);
          return o.length === 4 ? o : undefined;
        });
        if (JSON.stringify(got) !== JSON.stringify(before)) throw new Error(`${who} shows ${JSON.stringify(got)}`);
      }
    });

    await step("Bob waves and Alice sees the emote", async () => {
      await bob.click("[data-emote=wave]");
      await until("Bob waves on Alice's page", async () =>
        (await chatLines(alice)).some((l) => l.kind === "emote" && l.text.includes("Bob waves")) ? true : undefined);
    });

    await step("Alice switches the shared light off; Bob sees it", async () => {
      if ((await snapshot(alice)).light !== "on") throw new Error("the light should start on");
      await alice.click("[data-testid=light-switch]");
      await until("the light off on Bob's page", async () =>
        (await bob.getAttribute(".light", "data-light")) === "off" ? true : undefined);
      await until("the light off on Alice's page", async () => ((await snapshot(alice)).light === "off" ? true : undefined));
    });
    await shoot(alice, "world-alice");

    const NOTE_A1 = "meet at the lamp at 8";
    const NOTE_A2 = "meet at the lamp at 9";
    const NOTE_B = "Bob: I bring the snacks";
    const note = await step("Alice writes the whiteboard note; Bob's stale save is refused with a visible conflict; his retry wins", async () => {
      await alice.fill("[data-testid=note-text]", NOTE_A1);
      await alice.click("[data-testid=note-save]");
      const v1 = await until("Bob sees Alice's note", async () => {
        const n = (await snapshot(bob)).note;
        return n.text === NOTE_A1 && n.shown === NOTE_A1 && n.version > 0 ? n.version : undefined;
      });
      // Bob starts editing at v1; Alice saves again meanwhile.
      await bob.fill("[data-testid=note-text]", NOTE_B);
      await until("Alice's save done", async () => ((await snapshot(alice)).note.editing ? undefined : true));
      await alice.fill("[data-testid=note-text]", NOTE_A2);
      await alice.click("[data-testid=note-save]");
      const v2 = await until("Bob's draft stale against Alice's newer note", async () => {
        const n = (await snapshot(bob)).note;
        return n.text === NOTE_A2 && n.shown === NOTE_B && n.stale && n.version > v1 ? n.version : undefined;
      });
      await bob.click("[data-testid=note-save]");
      const theirs = await until("the conflict shown on Bob's page", async () => {
        if (await bob.isHidden("[data-testid=note-conflict]")) return undefined;
        return (await bob.textContent("[data-testid=note-theirs]")) ?? undefined;
      });
      if (theirs !== NOTE_A2) throw new Error(`the conflict shows ${JSON.stringify(theirs)}, not Alice's newer note`);
      if ((await snapshot(bob)).note.version !== v2) throw new Error("Bob's refused save changed the note");
      if ((await bob.inputValue("[data-testid=note-text]")) !== NOTE_B) throw new Error("Bob's draft was lost by the conflict");
      await shoot(bob, "world-note-conflict");
      await bob.click("[data-testid=note-retry]");
      const v3 = await until("Bob's retry saved", async () => {
        const n = (await snapshot(bob)).note;
        return n.text === NOTE_B && !n.editing && n.conflict === null ? n.version : undefined;
      });
      await until("Alice sees Bob's note", async () => {
        const n = (await snapshot(alice)).note;
        return n.text === NOTE_B && n.version === v3 && (await alice.inputValue("[data-testid=note-text]")) === NOTE_B ? true : undefined;
      });
      return { v1, v2, v3, conflict: theirs };
    });

    const drained = await step("drain the room's relay: both end up in the same room on the other", async () => {
      const relay = await until("the room's relay", () => roomRelay(roomId));
      await ops("POST", `/v1/ops/relays/${encodeURIComponent(relay)}/drain`, { reason: "browser scenario: drain" });
      await until("Alice's page reconnecting", async () => {
        const s = await snapshot(alice);
        return s.status !== "connected" ? s.status : undefined;
      });
      // Sent while away: the SDK queues it and sends it once after the new Welcome.
      await sendChat(alice, "said during the drain");
      const newRelay = await until("the room on another relay", async () => {
        const r = await roomRelay(roomId);
        return r && r !== relay ? r : undefined;
      }, 40000);
      for (const [who, page] of [["Alice", alice], ["Bob", bob]] as const) {
        await until(`${who} back in ${roomId} on ${newRelay}`, async () => {
          const s = await snapshot(page);
          return s.status === "connected" && s.roomId === roomId && s.relayId === newRelay ? s : undefined;
        }, 40000);
      }
      return { relay, newRelay };
    });

    const after = [...before, "said during the drain"];
    const resumed = await step("after the drain: light and note as they were, no chat lost, each other present", async () => {
      const out: Record<string, unknown> = {};
      for (const [who, page] of [["Alice", alice], ["Bob", bob]] as const) {
        const s = await snapshot(page);
        if (s.light !== "off") throw new Error(`${who}'s light is ${s.light} after the drain`);
        if (s.note.text !== NOTE_B || s.note.version !== note.v3) {
          throw new Error(`${who}'s note after the drain is ${JSON.stringify(s.note)}, not Bob's at version ${note.v3}`);
        }
        const got = await until(`${who} shows every line`, async () => {
          const o = await ordered(page, after);
          return o.length === after.length ? o : undefined;
        }, 20000);
        if (JSON.stringify(got) !== JSON.stringify(after)) throw new Error(`${who} shows ${JSON.stringify(got)}`);
        const other = who === "Alice" ? "Bob" : "Alice";
        await until(`${other} listed on ${who}'s page`, async () => ((await memberNames(page)).includes(other) ? true : undefined));
        const notices = (await chatLines(page)).filter((l) => l.kind === "notice" && l.text.includes("reconnected"));
        if (!notices.length) throw new Error(`${who}'s page did not say it reconnected`);
        out[who] = { chat: got, light: s.light, note: s.note.text, note_version: s.note.version };
      }
      // Delivered once: the history holds the queued line one time.
      const history = await ops<{ items: { text: string }[] }>("GET", `/v1/rooms/${encodeURIComponent(roomId)}/chat?order=oldest&limit=200`);
      const times = history.items.filter((l) => l.text === "said during the drain").length;
      if (times !== 1) throw new Error(`the line sent during the drain is in the history ${times} times`);
      return out;
    });
    await shoot(alice, "world-after-drain");

    const consolePage = await step("the ops console lists the room's members", async () => {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      const page = await context.newPage();
      openPages.push(page);
      page.on("pageerror", (e) => pageErrors.push(`console: ${e.message}`));
      await page.goto(`${CONTROL}/console/`);
      await page.fill("[data-testid=api-key]", KEY);
      await page.click("[data-testid=key-submit]");
      await page.click(`[data-testid="room-${roomId}"]`);
      await until("Alice and Bob in the console's member list", async () => {
        const names = await page.$$eval("[data-testid=members] tr[data-name]", (trs) => trs.map((t) => t.getAttribute("data-name")));
        return names.includes("Alice") && names.includes("Bob") ? names : undefined;
      });
      if (page.url().includes(KEY)) throw new Error("the API key is in the console's URL");
      return page;
    });
    await shoot(consolePage, "console-members");

    const found = await step("the console finds Alice by name and shows her room and sessions", async () => {
      const aliceId = (await snapshot(alice)).avatars.find((a) => a.self)!.userId;
      await consolePage.selectOption("[data-testid=user-field]", "name");
      await consolePage.fill("[data-testid=user-query]", "Alice");
      await consolePage.click("[data-testid=user-search]");
      await consolePage.click(`[data-testid="user-${aliceId}"]`);
      const room = await until("Alice's room on her user page", async () => {
        const r = (await consolePage.textContent("[data-testid=user-room]")) ?? "";
        return r === roomId ? r : undefined;
      });
      const active = await consolePage.locator("[data-testid=user-sessions] tr[data-status=active]").count();
      if (active < 1) throw new Error("Alice's user page lists no active session");
      return { userId: aliceId, room, activeSessions: active };
    });

    const createdKey = await step("the console creates an API key (shown once) and revokes it", async () => {
      consolePage.once("dialog", (d) => void d.accept());
      await consolePage.fill("[data-testid=key-name]", "scenario viewer");
      await consolePage.selectOption("[data-testid=key-role]", "viewer");
      await consolePage.click("[data-testid=key-create]");
      const key = await until("the new key shown", async () => (await consolePage.textContent("[data-testid=created-key-value]").catch(() => null)) ?? undefined);
      if (!/^pk_[A-Za-z0-9]+_/.test(key)) throw new Error(`the created key looks wrong: ${key.slice(0, 4)}…`);
      const row = consolePage.locator("[data-testid=keys] tr[data-name='scenario viewer']");
      const keyId = await until("the key in the list", async () => ((await row.count()) ? ((await row.first().getAttribute("data-key")) ?? undefined) : undefined));
      const viewer = await fetch(`${CONTROL}/v1/ops/keys`, { headers: { "x-api-key": key } });
      if (viewer.status !== 403) throw new Error(`a viewer key listing keys got ${viewer.status}, not 403`);
      await consolePage.click(`[data-testid="revoke-${keyId}"]`);
      await until("the key revoked", async () => ((await row.first().textContent())?.includes("revoked") ? true : undefined));
      const after = await fetch(`${CONTROL}/v1/ops/relays`, { headers: { "x-api-key": key } });
      if (after.status !== 401) throw new Error(`the revoked key got ${after.status}, not 401`);
      return { keyId, viewerListing: viewer.status, revoked: after.status };
    });

    const announcement = "scenario: the plaza closes at midnight";
    await step("the console announces into the room; both players see it", async () => {
      await consolePage.click(`[data-room="${roomId}"] [data-testid=announce-room]`);
      await consolePage.fill("[data-testid=action-text]", announcement);
      await consolePage.click("[data-testid=action-confirm]");
      for (const [who, page] of [["Alice", alice], ["Bob", bob]] as const) {
        await until(`the announcement on ${who}'s page`, async () =>
          (await chatLines(page)).some((l) => l.kind === "announcement" && l.text.includes(announcement)) ? true : undefined);
      }
    });

    const kicked = await step("the console kicks Bob; Bob is told why and stays out", async () => {
      await consolePage.click("[data-testid=kick-Bob]");
      await consolePage.fill("[data-testid=action-reason]", KICK_REASON);
      await consolePage.click("[data-testid=action-confirm]");
      const text = await until("the kick banner on Bob's page", async () => {
        const kind = await bob.getAttribute("[data-testid=banner]", "data-kind");
        const t = (await bob.textContent("[data-testid=banner]")) ?? "";
        return kind === "error" && t.includes("kicked") ? t : undefined;
      });
      if (!text.includes(KICK_REASON)) throw new Error(`the banner does not give the reason: ${text}`);
      await until("Bob gone from Alice's member list", async () => ((await memberNames(alice)).includes("Bob") ? undefined : true));
      await bob.waitForTimeout(5000); // longer than any reconnect backoff's first step
      const s = await snapshot(bob);
      if (s.status !== "closed" || !s.ended) throw new Error(`Bob's client is ${s.status} after the kick`);
      if ((await memberNames(bob)).length) throw new Error("Bob's page still lists members after the kick");
      if ((await memberNames(alice)).includes("Bob")) throw new Error("Bob came back after the kick");
      const status = (await consolePage.textContent("[data-testid=status]")) ?? "";
      const kickAck = await until("the kick acknowledged in the console's command list", async () => {
        const row = consolePage.locator("[data-testid=commands] tr[data-ack]", { has: consolePage.locator("td", { hasText: /^kick$/ }) });
        if ((await row.count()) === 0) return undefined;
        const ack = await row.first().getAttribute("data-ack");
        return ack === "ok" ? ack : undefined;
      });
      return { banner: text, bobStatus: s.status, consoleStatus: status, kickAck };
    });
    await shoot(bob, "world-bob-kicked");

    return {
      ok: true,
      room: roomId,
      moved,
      note,
      drained_relay: drained.relay,
      new_relay: drained.newRelay,
      resumed,
      kicked,
      found,
      created_key: createdKey,
      page_errors: pageErrors,
      screenshots,
      steps,
      chromium: browser.version(),
    };
  } catch (err) {
    for (const [i, page] of openPages.entries()) await shoot(page, `failed-page-${i}`).catch(() => undefined);
    throw err;
  } finally {
    await browser.close();
  }
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`scenario FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err instanceof Error ? err.message : err), steps, screenshots, page_errors: pageErrors })}\n`);
    process.exit(1);
  },
);
