// kustomize reads no file outside its folder, so the base carries a copy of the example config.
// The copy differs in one line: state.path, which on Kubernetes names a file on the state volume
// (the example's relative default would land in the read-only working directory).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { k8sDir, repoRoot } from "./lib.mjs";

const kExampleLine = "  path: creatify-exporter.db\n";
const kK8sLine = "  path: /var/lib/creatify-exporter/state.db\n";

test("deploy/kubernetes/base/config.yaml is the example config with state.path on the volume", () => {
  const example = readFileSync(path.join(repoRoot, "config/creatify-exporter.example.yaml"), "utf8");
  const copy = readFileSync(path.join(k8sDir, "base/config.yaml"), "utf8");
  assert.equal(example.split(kExampleLine).length, 2,
    `the example config has no single line ${JSON.stringify(kExampleLine)}: update this test`);
  assert.equal(parse(example).state.path, "creatify-exporter.db", "that line is state.path");
  assert.ok(copy === example.replace(kExampleLine, kK8sLine), "they differ beyond state.path: " +
    "sed 's|^  path: creatify-exporter.db$|  path: /var/lib/creatify-exporter/state.db|' " +
    "config/creatify-exporter.example.yaml > deploy/kubernetes/base/config.yaml");
  assert.equal(parse(copy).state.path, "/var/lib/creatify-exporter/state.db");
});
