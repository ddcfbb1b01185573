// kustomize.mjs renders what kubectl's own kustomize (v5) renders, for the shipped manifests and
// for the renderer's fixture. Skipped (exit 77) where no such kubectl is installed, as on a plain
// Debian 12: its kubernetes-client carries kustomize v2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { render } from "./kustomize.mjs";
import { k8sDir, renderedFolders } from "./lib.mjs";

function skipReason() {
  const version = spawnSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8" });
  if (version.error) return "kubectl not found (it is not in Debian 12's archive)";
  const { clientVersion, kustomizeVersion } = JSON.parse(version.stdout || "{}");
  if (!/^v[5-9]/.test(kustomizeVersion ?? "")) {
    const has = kustomizeVersion ?? "v2 or v3";
    return `kubectl ${clientVersion?.gitVersion} has kustomize ${has}; the comparison needs v5`;
  }
  return null;
}
const reason = skipReason();
if (reason) {
  console.log(`SKIPPED: ${reason}`);
  process.exit(77);
}

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "testdata/kustomize");
const byId = (objects) => Object.fromEntries(objects.map((o) =>
  [`${o.kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name}`, o]));

for (const dir of [...renderedFolders.map((d) => path.join(k8sDir, d)), path.join(fixtures, "base"),
  path.join(fixtures, "overlay")]) {
  test(`${path.relative(path.join(k8sDir, "../.."), dir)}: as kubectl kustomize renders it`, () => {
    const out = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    const expected = parseAllDocuments(out.stdout).map((doc) => doc.toJS());
    assert.deepEqual(byId(render(dir)), byId(expected));
  });
}
