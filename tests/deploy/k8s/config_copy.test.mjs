// kustomize reads no file outside its folder, so the base carries a copy of the example config.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { k8sDir, repoRoot } from "./lib.mjs";

test("deploy/kubernetes/base/config.yaml is config/creatify-exporter.example.yaml", () => {
  const example = readFileSync(path.join(repoRoot, "config/creatify-exporter.example.yaml"));
  const copy = readFileSync(path.join(k8sDir, "base/config.yaml"));
  assert.ok(copy.equals(example),
    "they differ: cp config/creatify-exporter.example.yaml deploy/kubernetes/base/config.yaml");
});
