// Every object that the base and the overlays render is valid for its Kubernetes or Prometheus
// Operator schema (the StatefulSet: io.k8s.api.apps.v1.StatefulSet, claim templates included).
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { k8sDir, kustomize, renderedFolders, validateSchema } from "./lib.mjs";

for (const dir of renderedFolders) {
  test(`${dir}: renders and validates`, async () => {
    const objects = kustomize(path.join(k8sDir, dir));
    assert.ok(objects.length > 0, "kustomize rendered nothing");
    const kinds = objects.map((o) => `${o.kind} ${o.metadata.name}`);
    for (const expected of ["StatefulSet creatify-exporter", "Service creatify-exporter",
      "Service creatify-exporter-headless"]) {
      assert.ok(kinds.includes(expected), `${expected} is rendered`);
    }
    for (const o of objects) await validateSchema(o);
  });
}

test("the validator rejects a wrong type (it can fail)", async () => {
  const bad = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x" },
    spec: { replicas: "1", selector: {}, template: {} },
  };
  await assert.rejects(validateSchema(bad), /replicas/);
});

test("the validator checks a StatefulSet's claim templates", async () => {
  const [statefulSet] = kustomize(path.join(k8sDir, "base")).filter((o) => o.kind === "StatefulSet");
  statefulSet.spec.volumeClaimTemplates[0].spec.accessModes = "ReadWriteOnce";
  await assert.rejects(validateSchema(statefulSet), /accessModes/);
});

test("the folders checked include every overlay", () => {
  for (const dir of ["base", "overlays/example", "overlays/sharded", "overlays/ha"]) {
    assert.ok(renderedFolders.includes(dir), dir);
  }
});

test("the validator checks a PodDisruptionBudget", async () => {
  const [budget] = kustomize(path.join(k8sDir, "overlays/ha"))
    .filter((o) => o.kind === "PodDisruptionBudget");
  assert.ok(budget, "overlays/ha renders a PodDisruptionBudget");
  await validateSchema(budget);
  budget.spec.minAvailable = [1];
  await assert.rejects(validateSchema(budget), /minAvailable/);
});

test("the validator rejects an unknown kind", async () => {
  await assert.rejects(validateSchema({ apiVersion: "v1", kind: "Nothing", metadata: {} }));
});
