// The runtime stage installs every shared library the built binaries load: each library that ldd
// resolves here belongs to a Debian package the Dockerfile installs, or to one that
// debian:bookworm-slim already has.
//   node runtime_libs.test.mjs BINARY...
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { aptPackages, dockerfileStages } from "./lib.mjs";

// In bookworm-slim already: the C and C++ runtimes (apt itself needs them).
const inBaseImage = new Set(["libc6", "libstdc++6", "libgcc-s1"]);

const binaries = process.argv.slice(2);
const installed = new Set(dockerfileStages().at(-1).instructions
  .filter((i) => i.keyword === "RUN").flatMap((i) => aptPackages(i.args)));

// Paths of the libraries the dynamic loader maps for `binary`.
function loadedLibraries(binary) {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  return [...out.matchAll(/^\s*(?:\S+ => )?(\/\S+) \(0x/gm)].map((m) => m[1]);
}

// The Debian packages that own `files`, by file. With merged /usr, ldd may name /lib/... while
// dpkg knows /usr/lib/... (or the reverse), and dpkg may know only the link target: ask for every
// spelling in one dpkg-query call (it is slow to start).
function owners(files) {
  const spellings = new Map();  // file -> its candidate paths
  for (const file of files) {
    const real = realpathSync(file);
    const candidates = new Set([file, real]);
    for (const p of [file, real]) candidates.add(p.startsWith("/usr/") ? p.slice(4) : `/usr${p}`);
    spellings.set(file, candidates);
  }
  const all = [...new Set([...spellings.values()].flatMap((c) => [...c]))];
  // Exits non-zero when some spelling is unknown, which is expected: read what it found.
  const result = spawnSync("dpkg-query", ["-S", ...all], { encoding: "utf8" });
  const byPath = new Map();
  for (const line of result.stdout.split("\n")) {
    const match = line.match(/^([^:\s,]+)(?::\S+)?: (\/.*)$/);
    if (match) byPath.set(match[2], match[1]);
  }
  return new Map(files.map((file) => {
    const pkg = [...spellings.get(file)].map((p) => byPath.get(p)).find(Boolean);
    if (!pkg) throw new Error(`${file}: no Debian package owns it`);
    return [file, pkg];
  }));
}

test("binaries to check were given", () => {
  assert.ok(binaries.length > 0, "usage: runtime_libs.test.mjs BINARY...");
});

for (const binary of binaries) {
  test(`${binary}: every loaded library is in the runtime image`, () => {
    const libraries = loadedLibraries(binary);
    assert.ok(libraries.length > 0, "ldd found no libraries");
    const missing = [...owners(libraries)]
      .filter(([, pkg]) => !installed.has(pkg) && !inBaseImage.has(pkg))
      .map(([lib, pkg]) => `${lib} (${pkg})`);
    assert.deepEqual(missing, [], "add these packages to the runtime stage's apt-get install");
  });
}
