// kustomize.mjs renders its fixture (testdata/kustomize) the way kustomize v5 does, and refuses
// what it does not implement. kustomize_conformance.test.mjs compares it with kubectl itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configMapHash, render } from "./kustomize.mjs";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "testdata/kustomize");
const objects = render(path.join(fixtures, "overlay"));
const one = (kind, prefix) => {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.startsWith(prefix));
  assert.equal(found.length, 1, `${kind} ${prefix}*`);
  return found[0];
};
const deployment = one("Deployment", "demo");
const pod = deployment.spec.template.spec;
const statefulSet = one("StatefulSet", "demo-stateful");

test("kustomize's hash: sha256 of the Go JSON, first 10 hex digits, vowel-like ones mapped", () => {
  // The values kubectl kustomize (v5.5) gives.
  assert.equal(configMapHash({ a: "b" }), "4h2mbtbbt6");
  assert.equal(one("ConfigMap", "demo-literals-").metadata.name, "demo-literals-h9dh579fkc");
  assert.equal(one("ConfigMap", "demo-files-").metadata.name, "demo-files-k7f56d255g");
});

test("generated ConfigMaps: files under their own or a given key, literals", () => {
  const settings = "speed: 3\nnote: a <b> & c\n";
  assert.deepEqual(one("ConfigMap", "demo-files-").data,
    { "settings.txt": settings, "renamed.txt": settings });
  assert.deepEqual(one("ConfigMap", "demo-literals-").data, { mode: '<fast> & "quiet"', empty: "" });
});

test("references to a generated ConfigMap follow its new name; others stay", () => {
  const literals = one("ConfigMap", "demo-literals-").metadata.name;
  const files = one("ConfigMap", "demo-files-").metadata.name;
  assert.equal(pod.initContainers[0].envFrom[0].configMapRef.name, literals);
  assert.equal(pod.containers[0].env[0].valueFrom.configMapKeyRef.name, literals);
  assert.equal(pod.containers[0].env[1].valueFrom.configMapKeyRef.name, "not-generated");
  assert.equal(pod.volumes[0].configMap.name, files);
  assert.equal(pod.volumes[1].projected.sources[0].configMap.name, files);
  assert.equal(pod.volumes[1].projected.sources[1].secret.name, "demo-files");
  assert.equal(statefulSet.spec.template.spec.volumes[0].configMap.name, files);
});

test("namespace: on every namespaced object, not on the Namespace", () => {
  for (const o of objects) {
    assert.equal(o.metadata.namespace, o.kind === "Namespace" ? undefined : "demo-ns", o.kind);
  }
});

test("labels: on every object of the base, on pod templates only with includeTemplates", () => {
  for (const o of objects.filter((o) => o.kind !== "Namespace" && !o.metadata.name.startsWith("demo-monitor"))) {
    assert.equal(o.metadata.labels?.app, "demo", `${o.kind} ${o.metadata.name}`);
    assert.equal(o.metadata.labels?.tier, "backend", `${o.kind} ${o.metadata.name}`);
  }
  assert.deepEqual(deployment.spec.template.metadata.labels, { name: "demo", app: "demo" });
  assert.deepEqual(deployment.spec.selector.matchLabels, { name: "demo" });
  // A StatefulSet's claim templates are templates too.
  assert.deepEqual(statefulSet.spec.volumeClaimTemplates[0].metadata.labels, { app: "demo" });
});

test("patches: JSON 6902 operations, inline or from a file, on the targets they name", () => {
  assert.deepEqual(statefulSet.spec.template.spec.containers[0].args,
    ["--zeroth", "--first", "--last"]);
  assert.equal(statefulSet.spec.serviceName, "demo-headless");
  assert.equal(statefulSet.spec.replicas, 3);
  assert.deepEqual(statefulSet.metadata.annotations, { "example.com/tilde~": "patched" });
  assert.equal(deployment.spec.replicas, 2);
});

test("images: new name and tag in the base, then a digest in the overlay", () => {
  assert.equal(pod.containers[0].image,
    "registry.example:5000/team/demo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  assert.equal(pod.initContainers[0].image, "helper:2");
});

test("a component's replacements read the including overlay's local config, which is not output", () => {
  const monitor = one("ConfigMap", "demo-monitor");
  assert.equal(monitor.metadata.labels.release, "prod");
  assert.equal(monitor.data.release, "prod");
  // The component runs before the overlay's own images transformer.
  assert.equal(monitor.data.image, "registry.example:5000/team/demo:1.2");
  assert.equal(objects.filter((o) => o.metadata.name === "demo-settings").length, 0);
});

function renderFixture(files) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "creatify-kustomize-"));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    return render(path.join(dir, "top"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("what it does not implement is an error, not a silent difference", () => {
  assert.throws(() => renderFixture({ "top/kustomization.yaml": "namePrefix: x-\n" }),
    /field namePrefix is not supported/);
  assert.throws(() => renderFixture({
    "top/kustomization.yaml": "configMapGenerator:\n  - name: x\n    behavior: merge\n",
  }), /configMapGenerator field behavior is not supported/);
  assert.throws(() => renderFixture({
    "top/kustomization.yaml": "labels:\n  - pairs: {a: b}\n    includeSelectors: true\n",
  }), /labels field includeSelectors is not supported/);
  const patched = (patch, target = "{kind: ConfigMap, name: x}") => renderFixture({
    "top/kustomization.yaml": `resources:\n  - a.yaml\npatches:\n  - target: ${target}\n` +
      `    patch: |-\n${patch.split("\n").map((l) => `      ${l}`).join("\n")}\n`,
    "top/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: v\n",
  });
  assert.deepEqual(patched("- {op: replace, path: /data/k, value: w}")[0].data, { k: "w" });
  assert.throws(() => patched("data:\n  k: w"), /only JSON 6902 patches/);
  assert.throws(() => patched("- {op: move, from: /data/k, path: /data/j}"), /op move/);
  assert.throws(() => patched("- {op: test, path: /data/k, value: w}"), /test failed/);
  assert.throws(() => patched("- {op: replace, path: /data/j, value: w}"), /does not exist/);
  // kustomize skips a patch whose target matches nothing; a typo must not pass unnoticed here.
  assert.throws(() => patched("- {op: remove, path: /data/k}", "{kind: ConfigMap, name: y}"),
    /matches nothing/);
  assert.throws(() => patched("- {op: remove, path: /data/k}", "{kind: ConfigMap, version: v1}"),
    /patch target field version is not supported/);
});

test("kustomize's rules: files only from inside the folder, components only as components", () => {
  assert.throws(() => renderFixture({
    "top/kustomization.yaml": "resources:\n  - ../x.yaml\n",
    "x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
  }), /outside the kustomization's folder/);
  assert.throws(() => renderFixture({
    "top/kustomization.yaml": "resources:\n  - ../c\n",
    "c/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
  }), /is a Component, expected a Kustomization/);
  assert.throws(() => renderFixture({
    "top/kustomization.yaml": "resources:\n  - a.yaml\n  - a.yaml\n",
    "top/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
  }), /defined twice/);
});
