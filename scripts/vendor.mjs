// Build the browser's third-party modules into web/static/vendor/ and check them.
//
// Run after `npm ci` (scripts/lib.sh does both). esbuild, pinned in package-lock.json,
// bundles web/vendor/noble.js and the files of @noble/curves and @noble/hashes it
// imports into ONE self-contained ES module, so the pages load it with a relative
// import under the strict CSP (script-src 'self': no inline import map is needed),
// and node --test imports the very same file. The bundle's SHA-256 must equal the
// one committed in scripts/vendor.sha256, or nothing is written and the run fails:
// what is served is exactly what was reviewed.
//
//   node scripts/vendor.mjs          build, check, write
//   node scripts/vendor.mjs --update build and record the new hash (after an upgrade)
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const HASHES = join(ROOT, "scripts", "vendor.sha256");
const BUNDLES = [{ entry: "web/vendor/noble.js", out: "web/static/vendor/noble.js" }];

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  console.error("vendor: esbuild is not installed; run `npm ci --ignore-scripts` first");
  process.exit(1);
}

const recorded = new Map(
  readFileSync(HASHES, "utf8")
    .split("\n")
    .filter((line) => line.trim() && !line.startsWith("#"))
    .map((line) => {
      const [hash, path] = line.trim().split(/\s+/);
      return [path, hash];
    }),
);
const update = process.argv.includes("--update");
let failed = false;

for (const { entry, out } of BUNDLES) {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    charset: "utf8",
    legalComments: "inline",
    write: false,
    logLevel: "warning",
  });
  const code = result.outputFiles[0].contents;
  const hash = createHash("sha256").update(code).digest("hex");
  if (update) {
    recorded.set(out, hash);
  } else if (recorded.get(out) !== hash) {
    console.error(
      `vendor: ${out} would have SHA-256 ${hash}, scripts/vendor.sha256 says ` +
        `${recorded.get(out) ?? "nothing"}; not written (run \`npm ci\` again, or after a ` +
        "reviewed upgrade `node scripts/vendor.mjs --update`)",
    );
    failed = true;
    continue;
  }
  mkdirSync(join(ROOT, dirname(out)), { recursive: true });
  writeFileSync(join(ROOT, out), code);
}

if (update) {
  const lines = [...recorded].map(([path, hash]) => `${hash}  ${path}`);
  writeFileSync(
    HASHES,
    "# SHA-256 of the bundles scripts/vendor.mjs writes (checked on every install;\n" +
      "# `sha256sum -c scripts/vendor.sha256` checks the files served).\n" +
      `${lines.join("\n")}\n`,
  );
}
process.exit(failed ? 1 : 0);
