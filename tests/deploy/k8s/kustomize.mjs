// A renderer for exactly the subset of kustomize (v5) that deploy/kubernetes uses, so that the
// manifest checks run where no recent kubectl is installed: Debian 12 has no kubectl package of
// its own, and the kubectl of its kubernetes-client (1.20) carries kustomize v2, which knows no
// `labels`, `components` or `replacements`. kustomize_conformance.test.mjs renders the same
// folders with kubectl and compares wherever a kubectl with kustomize v4 or later is installed.
//
// Anything outside the subset (a kustomization field, a generator option, a replacement option)
// throws, so that a manifest change this renderer does not understand fails the checks instead of
// being rendered wrong.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";

const kKustomizationFiles = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const kFields = new Set(["apiVersion", "kind", "resources", "components", "namespace", "labels",
  "configMapGenerator", "patches", "images", "replacements"]);
// Kinds the namespace transformer leaves alone (the cluster-scoped kinds a deployment may carry).
const kClusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding",
  "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass",
  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService"]);
const kLocalConfig = "config.kubernetes.io/local-config";

// Renders the kustomization in `dir` as `kustomize build` does: the rendered objects, in order.
export function render(dir) {
  const objects = build(path.resolve(dir), [], "Kustomization");
  addNameHashes(objects);
  return objects
    .map(({ object }) => object)
    .filter((o) => o.metadata?.annotations?.[kLocalConfig] !== "true");
}

// Exported for tests: kustomize's name suffix for a generated ConfigMap.
export function configMapHash(data) {
  // Go's json.Marshal of a map: keys sorted, and <, >, & escaped. kustomize v5 means to hash the
  // name too, but looks it up as one field called "metadata/name", finds nothing and hashes "".
  const sorted = Object.fromEntries(Object.keys(data).sort().map((k) => [k, data[k]]));
  const json = JSON.stringify({ data: sorted, kind: "ConfigMap", name: "" })
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const hex = createHash("sha256").update(json).digest("hex").slice(0, 10);
  return hex.replace(/[013ae]/g, (c) => ({ 0: "g", 1: "h", 3: "k", a: "m", e: "t" })[c]);
}

// Each rendered object travels as { object, generated } until the top level adds name hashes.
function build(dir, accumulated, expectedKind) {
  const k = readKustomization(dir);
  const where = path.join(dir, "kustomization.yaml");
  const kind = k.kind ?? "Kustomization";
  if (kind !== expectedKind) throw new Error(`${where}: is a ${kind}, expected a ${expectedKind}`);
  for (const field of Object.keys(k)) {
    if (!kFields.has(field)) throw new Error(`${where}: field ${field} is not supported here`);
  }

  const objects = accumulated;
  for (const entry of k.resources ?? []) {
    const target = path.resolve(dir, entry);
    if (statSync(target).isDirectory()) {
      objects.push(...build(target, [], "Kustomization"));
    } else {
      objects.push(...readObjects(insideRoot(dir, entry, where)).map((object) => ({ object })));
    }
  }
  for (const entry of k.components ?? []) build(path.resolve(dir, entry), objects, "Component");
  for (const generator of k.configMapGenerator ?? []) {
    objects.push({ object: generateConfigMap(dir, generator, where), generated: true });
  }
  // kustomize's order of the built-in transformers.
  for (const patch of k.patches ?? []) applyPatch(dir, objects, patch, where);
  if (k.namespace) setNamespace(objects, k.namespace);
  for (const label of k.labels ?? []) addLabels(objects, label, where);
  for (const image of k.images ?? []) setImage(objects, image, where);
  for (const replacement of k.replacements ?? []) replace(objects, replacement, where);
  checkUnique(objects, where);
  return objects;
}

function readKustomization(dir) {
  const file = kKustomizationFiles.map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  return readObjects(file)[0] ?? {};
}

function readObjects(file) {
  return parseAllDocuments(readFileSync(file, "utf8")).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    return doc.toJS();
  }).filter((o) => o !== null && o !== undefined);
}

// kustomize reads files (not folders) only from inside the kustomization's own folder.
function insideRoot(dir, entry, where) {
  const file = path.resolve(dir, entry);
  if (path.relative(dir, file).startsWith("..")) {
    throw new Error(`${where}: ${entry} is outside the kustomization's folder`);
  }
  return file;
}

function generateConfigMap(dir, generator, where) {
  for (const field of Object.keys(generator)) {
    if (!["name", "files", "literals"].includes(field)) {
      throw new Error(`${where}: configMapGenerator field ${field} is not supported here`);
    }
  }
  const data = {};
  for (const entry of generator.files ?? []) {
    const [key, file] = entry.includes("=") ? entry.split(/=(.*)/s) : [path.basename(entry), entry];
    data[key] = readFileSync(insideRoot(dir, file, where), "utf8");
  }
  for (const entry of generator.literals ?? []) {
    const [key, value] = entry.split(/=(.*)/s);
    data[key] = value;
  }
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: generator.name }, data };
}

function setNamespace(objects, namespace) {
  for (const { object } of objects) {
    if (!kClusterScoped.has(object.kind)) object.metadata = { ...object.metadata, namespace };
  }
}

// Pod templates: where `labels` with includeTemplates also goes, and where images are.
function podTemplates(object) {
  const spec = object.spec ?? {};
  if (object.kind === "CronJob") return [spec.jobTemplate?.spec?.template].filter(Boolean);
  return [spec.template].filter(Boolean);
}

function addLabels(objects, label, where) {
  for (const field of Object.keys(label)) {
    if (!["pairs", "includeTemplates"].includes(field)) {
      throw new Error(`${where}: labels field ${field} is not supported here`);
    }
  }
  for (const { object } of objects) {
    object.metadata.labels = { ...object.metadata.labels, ...label.pairs };
    if (!label.includeTemplates) continue;
    // A StatefulSet's volume claim templates count as templates too.
    const claims = object.kind === "StatefulSet" ? object.spec?.volumeClaimTemplates ?? [] : [];
    for (const template of [...podTemplates(object), ...claims]) {
      template.metadata = template.metadata ?? {};
      template.metadata.labels = { ...template.metadata.labels, ...label.pairs };
    }
  }
}

// `patches` entries that are JSON 6902 patches (a list of operations) with a target by kind and
// name. kustomize reads a patch that is a single object as a strategic merge patch: not here. A
// target that matches nothing is an error here (kustomize skips the patch), so that a renamed
// object cannot silently lose its patch.
function applyPatch(dir, objects, entry, where) {
  for (const field of Object.keys(entry)) {
    if (!["patch", "path", "target"].includes(field)) {
      throw new Error(`${where}: patches field ${field} is not supported here`);
    }
  }
  for (const field of Object.keys(entry.target ?? {})) {
    if (!["kind", "name"].includes(field)) {
      throw new Error(`${where}: patch target field ${field} is not supported here`);
    }
  }
  if (!entry.target) throw new Error(`${where}: a patch without a target is not supported here`);
  const text = entry.path ? readFileSync(insideRoot(dir, entry.path, where), "utf8") : entry.patch;
  const operations = parseAllDocuments(text ?? "").map((doc) => doc.toJS());
  if (operations.length !== 1 || !Array.isArray(operations[0])) {
    throw new Error(`${where}: only JSON 6902 patches (a list of operations) are supported here`);
  }
  // kustomize reads the target's name as a regular expression of the whole name.
  const { kind, name } = entry.target;
  const namePattern = name === undefined ? undefined : new RegExp(`^(?:${name})$`);
  const targets = objects.filter(({ object }) => (kind === undefined || object.kind === kind) &&
    (namePattern === undefined || namePattern.test(object.metadata?.name ?? "")));
  if (targets.length === 0) {
    throw new Error(`${where}: patch target ${JSON.stringify(entry.target)} matches nothing`);
  }
  for (const { object } of targets) {
    const id = `${object.kind} ${object.metadata?.name}`;
    for (const operation of operations[0]) applyOperation(object, operation, `${where}: ${id}`);
  }
}

// "/a/b~1c/0" -> ["a", "b/c", "0"] (RFC 6901).
function parsePointer(pointer, where) {
  if (typeof pointer !== "string" || !pointer.startsWith("/")) {
    throw new Error(`${where}: patch path ${JSON.stringify(pointer)} is not a JSON pointer`);
  }
  return pointer.slice(1).split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

// One RFC 6902 operation: add, replace, remove or test.
function applyOperation(object, operation, where) {
  const { op, path: pointer, value } = operation;
  if (!["add", "replace", "remove", "test"].includes(op)) {
    throw new Error(`${where}: patch op ${op} is not supported here`);
  }
  const parts = parsePointer(pointer, where);
  const last = parts.pop();
  const parent = parts.reduce((node, part) => {
    const next = Array.isArray(node) ? node[Number(part)] : node?.[part];
    if (typeof next !== "object" || next === null) {
      throw new Error(`${where}: patch path ${pointer} does not exist`);
    }
    return next;
  }, object);
  const isIndex = Array.isArray(parent) && /^(0|[1-9][0-9]*)$/.test(last);
  const exists = Array.isArray(parent) ? isIndex && Number(last) < parent.length : last in parent;
  if (op === "add") {
    if (!Array.isArray(parent)) {
      parent[last] = value;
    } else if (last === "-") {
      parent.push(value);
    } else if (isIndex && Number(last) <= parent.length) {
      parent.splice(Number(last), 0, value);
    } else {
      throw new Error(`${where}: patch path ${pointer} is not an index of the list`);
    }
    return;
  }
  if (!exists) throw new Error(`${where}: patch path ${pointer} does not exist`);
  if (op === "test") {
    const actual = Array.isArray(parent) ? parent[Number(last)] : parent[last];
    if (!isDeepStrictEqual(actual, value)) {
      throw new Error(`${where}: patch test failed: ${pointer} is ${JSON.stringify(actual)}, ` +
        `not ${JSON.stringify(value)}`);
    }
  } else if (Array.isArray(parent)) {
    parent.splice(Number(last), 1, ...(op === "replace" ? [value] : []));
  } else if (op === "replace") {
    parent[last] = value;
  } else {
    delete parent[last];
  }
}

// Splits "registry:5000/name:tag@digest" into name, tag and digest.
function splitImage(image) {
  const [rest, digest] = image.split("@");
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, tag: undefined, digest };
}

function setImage(objects, image, where) {
  for (const field of Object.keys(image)) {
    if (!["name", "newName", "newTag", "digest"].includes(field)) {
      throw new Error(`${where}: images field ${field} is not supported here`);
    }
  }
  for (const { object } of objects) {
    for (const template of podTemplates(object)) {
      const spec = template.spec ?? {};
      for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        const current = splitImage(container.image ?? "");
        if (current.name !== image.name) continue;
        let result = image.newName ?? current.name;
        if (image.digest) result += `@${image.digest}`;
        else if (image.newTag !== undefined) result += `:${image.newTag}`;
        else if (current.digest) result += `@${current.digest}`;
        else if (current.tag !== undefined) result += `:${current.tag}`;
        container.image = result;
      }
    }
  }
}

function matches(object, select) {
  return Object.entries(select).every(([key, value]) => {
    if (key === "kind") return object.kind === value;
    if (key === "name") return object.metadata?.name === value;
    if (key === "namespace") return object.metadata?.namespace === value;
    throw new Error(`replacements: select by ${key} is not supported here`);
  });
}

// "a.b[name=x].c" -> ["a", "b", {name: "x"}, "c"]
function parseFieldPath(fieldPath) {
  return fieldPath.split(".").flatMap((part) => {
    const m = part.match(/^([^[]*)\[([^=\]]+)=([^\]]*)\]$/);
    return m ? [m[1], { [m[2]]: m[3] }].filter((p) => p !== "") : [part];
  });
}

function step(node, part) {
  if (typeof part === "string") return node?.[part];
  const [[key, value]] = Object.entries(part);
  return Array.isArray(node) ? node.find((item) => String(item?.[key]) === value) : undefined;
}

function replace(objects, replacement, where) {
  const { source, targets } = replacement;
  for (const field of Object.keys(source)) {
    if (!["kind", "name", "namespace", "fieldPath"].includes(field)) {
      throw new Error(`${where}: replacement source field ${field} is not supported here`);
    }
  }
  const { fieldPath = "metadata.name", ...select } = source;
  const found = objects.filter(({ object }) => matches(object, select));
  if (found.length !== 1) {
    throw new Error(`${where}: replacement source ${JSON.stringify(select)} matches ${found.length} objects`);
  }
  const value = parseFieldPath(fieldPath).reduce(step, found[0].object);
  if (value === undefined) throw new Error(`${where}: replacement source has no ${fieldPath}`);
  for (const target of targets) {
    for (const field of Object.keys(target)) {
      if (!["select", "fieldPaths"].includes(field)) {
        throw new Error(`${where}: replacement target field ${field} is not supported here`);
      }
    }
    for (const { object } of objects.filter(({ object: o }) => matches(o, target.select))) {
      for (const targetPath of target.fieldPaths) {
        const parts = parseFieldPath(targetPath);
        const parent = parts.slice(0, -1).reduce(step, object);
        const last = parts.at(-1);
        if (typeof last !== "string" || parent?.[last] === undefined) {
          throw new Error(`${where}: replacement target ${object.kind} ${object.metadata?.name} has no ${targetPath}`);
        }
        parent[last] = value;
      }
    }
  }
}

function checkUnique(objects, where) {
  const seen = new Set();
  for (const { object } of objects) {
    const id = `${object.apiVersion} ${object.kind} ${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
    if (seen.has(id)) throw new Error(`${where}: ${id} is defined twice`);
    seen.add(id);
  }
}

// Generated ConfigMaps get a hash of their content in their name, and the pods that mount or read
// them follow the new name (as kustomize does once, at the top level).
function addNameHashes(objects) {
  const renamed = new Map();  // "namespace/old name" -> new name
  for (const entry of objects.filter((o) => o.generated)) {
    const { metadata, data } = entry.object;
    const name = `${metadata.name}-${configMapHash(data)}`;
    renamed.set(`${metadata.namespace ?? ""}/${metadata.name}`, name);
    metadata.name = name;
  }
  for (const { object } of objects) {
    const namespace = object.metadata?.namespace ?? "";
    const rename = (ref) => {
      const name = ref && renamed.get(`${namespace}/${ref.name}`);
      if (name) ref.name = name;
    };
    for (const template of podTemplates(object)) {
      const spec = template.spec ?? {};
      for (const volume of spec.volumes ?? []) {
        rename(volume.configMap);
        for (const source of volume.projected?.sources ?? []) rename(source.configMap);
      }
      for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
        for (const env of container.env ?? []) rename(env.valueFrom?.configMapKeyRef);
        for (const from of container.envFrom ?? []) rename(from.configMapRef);
      }
    }
  }
}
