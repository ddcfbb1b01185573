// Helpers shared by the Kubernetes manifest checks: render with kustomize, validate a rendered
// object against its schema.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { render } from "./kustomize.mjs";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const k8sDir = path.join(repoRoot, "deploy/kubernetes");

// The folders the checks render: the base and every overlay, found rather than listed, so that a
// new overlay cannot be left out of them.
export const renderedFolders = ["base", ...readdirSync(path.join(k8sDir, "overlays"),
  { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `overlays/${e.name}`).sort()];

// Renders a kustomization folder into plain objects, as `kubectl kustomize` does (kustomize.mjs:
// no kubectl needed; kustomize_conformance.test.mjs compares the two where kubectl is installed).
export function kustomize(dir) {
  return render(dir);
}

export function find(objects, kind, name) {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
}

// apiVersion -> module with one model class per kind. An apiVersion without a schema here is an
// error: every rendered object must be checked.
const schemaModules = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

// Throws with the schema's message when `object` does not validate.
export async function validateSchema(object) {
  const id = `${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
  const module = schemaModules[object.apiVersion];
  if (!module) throw new Error(`${id}: no schema known for apiVersion ${object.apiVersion}`);
  const Model = (await import(module))[object.kind];
  if (typeof Model !== "function") throw new Error(`${id}: no schema known for kind ${object.kind}`);
  try {
    new Model(object).validate();
  } catch (e) {
    throw new Error(`${id}: ${e.message}`);
  }
}
