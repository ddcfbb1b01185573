// Every object that the base and the example overlay render is valid for its Kubernetes or
// Prometheus Operator schema.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { k8sDir, kustomize, validateSchema } from "./lib.mjs";

for (const dir of ["base", "overlays/example"]) {
  test(`${dir}: renders and validates`, async () => {
    const objects = kustomize(path.join(k8sDir, dir));
    assert.ok(objects.length > 0, "kustomize rendered nothing");
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

test("the validator rejects an unknown kind", async () => {
  await assert.rejects(validateSchema({ apiVersion: "v1", kind: "Nothing", metadata: {} }));
});
