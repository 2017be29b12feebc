// Builds web/dist (git-ignored), the folder the control plane serves when
// PLAZA_WEB_DIR points at it (control/plaza_control/routes/web.py):
//   dist/play/index.html     the world          -> /play/
//   dist/console/index.html  the ops console    -> /console/
//   dist/assets/*-<hash>.js|css  the bundles    -> /assets/ (cached for good)
// `node build.mjs --unit OUT` instead bundles test/unit/*.test.ts into OUT for
// `node --test` (Node 20 runs no TypeScript itself); `--scenario OUT` the
// browser scenario (test/browser/world-scenario.ts) into OUT/world-scenario.mjs.
import * as esbuild from "esbuild";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// The SDK's sources and the generated schema code import "flatbuffers"; they
// resolve it from web/node_modules (one copy, the version pinned here).
const shared = {
  bundle: true,
  format: "esm",
  target: "es2022",
  nodePaths: [join(here, "node_modules")],
  logLevel: "warning",
  legalComments: "none",
};

async function buildApp() {
  const dist = join(here, "dist");
  await rm(dist, { recursive: true, force: true });
  const result = await esbuild.build({
    ...shared,
    entryPoints: { world: "src/world/main.ts", console: "src/console/main.ts" },
    outdir: join(dist, "assets"),
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    minify: true,
    sourcemap: "linked",
    platform: "browser",
    metafile: true,
  });
  // Each page names its entry's hashed bundle and stylesheet.
  const outputs = Object.entries(result.metafile.outputs);
  const pages = [
    { page: "src/world/index.html", entry: "src/world/main.ts", out: "play" },
    { page: "src/console/index.html", entry: "src/console/main.ts", out: "console" },
  ];
  for (const { page, entry, out } of pages) {
    const [js, meta] = outputs.find(([, o]) => o.entryPoint === entry) ?? [];
    if (!js || !meta) throw new Error(`build: no output for ${entry}`);
    const css = meta.cssBundle;
    let html = await readFile(join(here, page), "utf8");
    html = html
      .replace("%SCRIPT%", `/assets/${basename(js)}`)
      .replace("%STYLE%", css ? `/assets/${basename(css)}` : "");
    if (html.includes("%")) throw new Error(`build: unreplaced placeholder in ${page}`);
    await mkdir(join(dist, out), { recursive: true });
    await writeFile(join(dist, out, "index.html"), html);
  }
  const files = outputs.map(([f]) => relative(here, f)).filter((f) => !f.endsWith(".map"));
  console.log(`web: built ${files.join(", ")} and dist/{play,console}/index.html`);
}

async function buildUnit(outdir) {
  const tests = (await readdir(join(here, "test/unit"))).filter((f) => f.endsWith(".test.ts"));
  await rm(outdir, { recursive: true, force: true });
  await esbuild.build({
    ...shared,
    entryPoints: tests.map((f) => join(here, "test/unit", f)),
    outdir,
    outExtension: { ".js": ".mjs" },
    platform: "node",
    sourcemap: "inline",
  });
}

// The browser scenario (test/browser/*.ts) for Node; playwright-core stays an
// import of web/node_modules.
async function buildScenario(outdir) {
  await rm(outdir, { recursive: true, force: true });
  await esbuild.build({
    ...shared,
    entryPoints: [join(here, "test/browser/world-scenario.ts")],
    outdir,
    outExtension: { ".js": ".mjs" },
    platform: "node",
    sourcemap: "inline",
    external: ["playwright-core"],
  });
}

const args = process.argv.slice(2);
if (args[0] === "--unit") await buildUnit(args[1] ?? join(here, ".build/unit"));
else if (args[0] === "--scenario") await buildScenario(args[1] ?? join(here, ".build/scenario"));
else await buildApp();
