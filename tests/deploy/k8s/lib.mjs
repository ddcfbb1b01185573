// Helpers shared by the Kubernetes manifest checks: render with kustomize, validate a rendered
// object against its schema.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseAllDocuments } from "yaml";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const k8sDir = path.join(repoRoot, "deploy/kubernetes");

// Renders a kustomization folder with kubectl (its built-in kustomize) into plain objects.
export function kustomize(dir) {
  const out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS();
  });
}

export function find(objects, kind, name) {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
}

// apiVersion -> module with one model class per kind. An apiVersion without a schema here is an
// error: every rendered object must be checked.
const schemaModules = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
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
