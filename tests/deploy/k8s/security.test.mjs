// The StatefulSet's promises, in the base and in every overlay: one replica per shard, or two
// replicas of the one shard with a disruption budget and anti-affinity (overlays/ha), the
// restricted pod security profile on the pod and on every container, a read-only root filesystem
// with the state volume as the one writable mount, probes, the named port, no service account
// token, resources set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { find, k8sDir, kustomize, renderedFolders, repoRoot } from "./lib.mjs";

const PORT_NAME = "http-metrics";
const PORT = 10487;
const STATE_DIR = "/var/lib/creatify-exporter";
// The rendered folders, with their number of replicas and of shards. More replicas than shards are
// replicas of one another (each watches every job of its shard).
const kRenderings = {
  base: { replicas: 1, shards: 1 },
  "overlays/example": { replicas: 1, shards: 1 },
  "overlays/sharded": { replicas: 3, shards: 3 },
  "overlays/ha": { replicas: 2, shards: 1 },
};

// The value of the exporter's --name=value flag, or undefined.
const flag = (args, name) => args.find((a) => a.startsWith(`--${name}=`))?.split(/=(.*)/s)[1];

function checkRendering(objects, { replicas, shards }) {
  assert.equal(find(objects, "Deployment").length, 0, "no Deployment: the exporter is a StatefulSet");
  const [statefulSet] = find(objects, "StatefulSet", "creatify-exporter");
  assert.ok(statefulSet, "no StatefulSet creatify-exporter");
  const spec = statefulSet.spec;
  const pod = spec.template.spec;

  // One pod per shard, each taking its shard from its name, creatify-exporter-I; or replicas of
  // the one shard.
  assert.equal(spec.replicas, replicas, "replicas");
  assert.ok(replicas === shards || shards === 1, "replicas: one per shard, or replicas of one");
  const args = pod.containers[0].args;
  assert.equal(flag(args, "total-shards"), shards > 1 ? String(shards) : undefined,
    "--total-shards");
  assert.equal(flag(args, "shard"), undefined, "--shard: each pod takes its shard from its name");
  assert.equal(spec.updateStrategy?.type, "RollingUpdate", "updateStrategy");
  assert.ok(pod.terminationGracePeriodSeconds >= 10,
    "terminationGracePeriodSeconds: the exporter writes its state and exits within 5 s of SIGTERM");

  // The governing Service is headless and selects the pods.
  const [headless] = find(objects, "Service", spec.serviceName);
  assert.ok(headless, `no Service ${spec.serviceName} (the StatefulSet's serviceName)`);
  assert.equal(headless.spec.clusterIP, "None", `${spec.serviceName} is headless`);

  // No token: the exporter does not talk to the Kubernetes API.
  const [account] = find(objects, "ServiceAccount", pod.serviceAccountName);
  assert.ok(account, `no ServiceAccount ${pod.serviceAccountName}`);
  assert.equal(account.automountServiceAccountToken, false, "ServiceAccount token automount");
  assert.equal(pod.automountServiceAccountToken, false, "pod token automount");

  // Pod level.
  const podSc = pod.securityContext ?? {};
  assert.equal(podSc.runAsNonRoot, true, "pod runAsNonRoot");
  assert.ok(Number.isInteger(podSc.runAsUser) && podSc.runAsUser > 0, "pod runAsUser numeric");
  assert.ok(Number.isInteger(podSc.runAsGroup) && podSc.runAsGroup > 0, "pod runAsGroup numeric");
  assert.equal(podSc.seccompProfile?.type, "RuntimeDefault", "pod seccompProfile");
  assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, "no host namespaces");

  // Pod volumes: only read-only ConfigMap, Secret or projected sources. The state volume is a
  // claim from the StatefulSet's volumeClaimTemplates, one per replica.
  for (const v of pod.volumes ?? []) {
    assert.ok(v.configMap || v.secret || v.projected, `volume ${v.name} must be read-only content`);
  }
  assert.equal(podSc.fsGroup, podSc.runAsGroup, "pod fsGroup: the state volume is writable");
  const claims = spec.volumeClaimTemplates ?? [];
  assert.deepEqual(claims.map((c) => c.metadata.name), ["state"], "volumeClaimTemplates");
  assert.deepEqual(claims[0].spec.accessModes, ["ReadWriteOnce"], "state: accessModes");
  assert.ok(claims[0].spec.resources?.requests?.storage, "state: storage request");

  const containers = [...(pod.initContainers ?? []), ...pod.containers];
  assert.ok(containers.length > 0);
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
    assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${where}: capabilities.drop`);
    assert.equal(sc.capabilities?.add, undefined, `${where}: capabilities.add`);
    assert.notEqual(sc.privileged, true, `${where}: privileged`);
    assert.equal(sc.runAsNonRoot ?? podSc.runAsNonRoot, true, `${where}: runAsNonRoot`);
    assert.ok(Number.isInteger(sc.runAsUser ?? podSc.runAsUser), `${where}: numeric runAsUser`);
    assert.ok(Number.isInteger(sc.runAsGroup ?? podSc.runAsGroup), `${where}: numeric runAsGroup`);
    assert.notEqual(sc.runAsUser, 0, `${where}: runAsUser 0`);
    assert.equal(
      (sc.seccompProfile ?? podSc.seccompProfile)?.type,
      "RuntimeDefault",
      `${where}: seccompProfile`,
    );
    for (const kind of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        assert.ok(c.resources?.[kind]?.[resource], `${where}: resources.${kind}.${resource}`);
      }
    }
    // Every mount read-only, except the exporter's state directory on its claim.
    for (const m of c.volumeMounts ?? []) {
      const isState = c === pod.containers[0] && m.name === "state" && m.mountPath === STATE_DIR;
      if (isState) {
        assert.notEqual(m.readOnly, true, `${where}: the state directory must be writable`);
        assert.equal(m.subPath, undefined, `${where}: the state mount takes the whole claim`);
      } else {
        assert.equal(m.readOnly, true, `${where}: volume mount ${m.mountPath} must be read-only`);
      }
    }
  }

  const [exporter] = pod.containers;
  assert.deepEqual(
    exporter.ports?.map((p) => [p.name, p.containerPort]),
    [[PORT_NAME, PORT]],
    "named port",
  );
  assert.ok(exporter.args.includes("--config.file=/etc/creatify-exporter/config.yaml"), "args");
  assert.ok(exporter.args.includes(`--web.listen-address=:${PORT}`), "args");
  assert.equal(exporter.livenessProbe?.httpGet?.path, "/-/healthy", "liveness probe path");
  assert.equal(exporter.livenessProbe?.httpGet?.port, PORT_NAME, "liveness probe port");
  assert.equal(exporter.readinessProbe?.httpGet?.path, "/-/ready", "readiness probe path");
  assert.equal(exporter.readinessProbe?.httpGet?.port, PORT_NAME, "readiness probe port");

  // Credentials come from the Secret, never inline.
  const env = Object.fromEntries((exporter.env ?? []).map((e) => [e.name, e]));
  for (const name of ["CREATIFY_API_ID", "CREATIFY_API_KEY"]) {
    assert.ok(env[name]?.valueFrom?.secretKeyRef, `${name} from a Secret`);
    const ref = env[name].valueFrom.secretKeyRef;
    const [secret] = find(objects, "Secret", ref.name);
    assert.ok(secret, `Secret ${ref.name} is rendered`);
    assert.ok(ref.key in { ...secret.data, ...secret.stringData }, `${ref.name} has ${ref.key}`);
  }

  const [exporterContainer] = pod.containers;
  const stateMounts = (exporterContainer.volumeMounts ?? []).filter((m) => m.readOnly !== true);
  assert.deepEqual(stateMounts.map((m) => [m.name, m.mountPath]), [["state", STATE_DIR]],
    "the exporter's one writable mount");

  // The config volume is the rendered ConfigMap (hash suffix included), and its state.path lies
  // on the state volume.
  const configVolume = pod.volumes.find((v) => v.configMap);
  const configMaps = find(objects, "ConfigMap", configVolume.configMap.name);
  assert.equal(configMaps.length, 1, "ConfigMap");
  const config = parse(configMaps[0].data["config.yaml"]);
  assert.equal(path.posix.dirname(config.state?.path ?? ""), STATE_DIR, "config: state.path");

  // Both Services reach the pods on the named port.
  const podLabels = spec.template.metadata.labels;
  for (const name of ["creatify-exporter", spec.serviceName]) {
    const [service] = find(objects, "Service", name);
    assert.ok(service, `no Service ${name}`);
    assert.deepEqual(
      service.spec.ports.map((p) => [p.name, p.port, p.targetPort]),
      [[PORT_NAME, PORT, PORT_NAME]],
      `Service ${name} ports`,
    );
    for (const [k, v] of Object.entries(service.spec.selector)) {
      assert.equal(podLabels[k], v, `Service ${name} selector ${k} matches the pod`);
    }
  }
  for (const [k, v] of Object.entries(spec.selector.matchLabels)) {
    assert.equal(podLabels[k], v, `StatefulSet selector ${k} matches the pod`);
  }
  if (replicas > shards) checkReplicas(objects, statefulSet);
}

// A selector's matchLabels select the pod (and it has nothing else that could select less).
function selectsPod(selector, podLabels, what) {
  assert.ok(selector?.matchLabels, `${what}: matchLabels`);
  assert.equal(selector.matchExpressions, undefined, `${what}: no matchExpressions`);
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    assert.equal(podLabels[k], v, `${what}: selector ${k} matches the pod`);
  }
}

// Replicas that each watch every job (see "Running two replicas" in the README): no shard flags,
// no webhook forwarding, at most one taken by a voluntary disruption, spread over nodes.
function checkReplicas(objects, statefulSet) {
  const pod = statefulSet.spec.template.spec;
  const podLabels = statefulSet.spec.template.metadata.labels;
  const args = pod.containers[0].args;
  for (const name of ["total-shards", "shard", "shard.peer-url"]) {
    assert.equal(flag(args, name), undefined, `--${name}: replicas watch every job`);
  }
  const budgets = find(objects, "PodDisruptionBudget");
  assert.equal(budgets.length, 1, "one PodDisruptionBudget");
  const [budget] = budgets;
  assert.equal(budget.metadata.namespace, statefulSet.metadata.namespace, "budget namespace");
  assert.equal(budget.spec.minAvailable, 1, "PodDisruptionBudget minAvailable");
  assert.equal(budget.spec.maxUnavailable, undefined, "PodDisruptionBudget maxUnavailable");
  selectsPod(budget.spec.selector, podLabels, "PodDisruptionBudget");
  const terms = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  assert.equal(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
    undefined, "anti-affinity is preferred, not required (a one-node cluster runs both)");
  const byHost = terms.filter((t) => t.podAffinityTerm?.topologyKey === "kubernetes.io/hostname");
  assert.equal(byHost.length, 1, "a preferred podAntiAffinity on kubernetes.io/hostname");
  assert.ok(byHost[0].weight > 0, "anti-affinity weight");
  selectsPod(byHost[0].podAffinityTerm.labelSelector, podLabels, "podAntiAffinity");
}

test("every rendered folder has its replicas and shards declared here", () => {
  assert.deepEqual(Object.keys(kRenderings).sort(), [...renderedFolders].sort());
});

for (const [dir, topology] of Object.entries(kRenderings)) {
  const { replicas, shards } = topology;
  test(`${dir}: StatefulSet settings (${replicas} replica${replicas > 1 ? "s" : ""}, ${shards} ` +
    `shard${shards > 1 ? "s" : ""})`, () => checkRendering(kustomize(path.join(k8sDir, dir)), topology));
}

test("sharded: one replica per shard, as many as --total-shards says", () => {
  const [statefulSet] = find(kustomize(path.join(k8sDir, "overlays/sharded")), "StatefulSet");
  const total = Number(flag(statefulSet.spec.template.spec.containers[0].args, "total-shards"));
  assert.ok(total > 1, "--total-shards");
  assert.equal(statefulSet.spec.replicas, total, "replicas must equal --total-shards");
});

test("the image is the project's release, and the overlay's images entry applies", () => {
  const version = readFileSync(path.join(repoRoot, "CMakeLists.txt"), "utf8")
    .match(/project\([^)]*VERSION\s+([0-9.]+)/)[1];
  const imageOf = (objects) => find(objects, "StatefulSet")[0].spec.template.spec.containers[0].image;
  const baseImage = imageOf(kustomize(path.join(k8sDir, "base")));
  assert.equal(baseImage, `ghcr.io/creatify-exporter/creatify-exporter:${version}`);
  // An images entry matches by the name the image has after the base, not the base's own name.
  const overlay = parse(readFileSync(path.join(k8sDir, "overlays/example/kustomization.yaml"), "utf8"));
  const [entry] = overlay.images;
  assert.equal(entry.name, baseImage.split(":")[0], "the overlay's images entry matches nothing");
  assert.equal(imageOf(kustomize(path.join(k8sDir, "overlays/example"))),
    `${entry.newName ?? entry.name}:${entry.newTag}`);
});

test("the check rejects a pod that may escalate (it can fail)", () => {
  const objects = kustomize(path.join(k8sDir, "base"));
  const [statefulSet] = find(objects, "StatefulSet");
  statefulSet.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  assert.throws(() => checkRendering(objects, kRenderings.base), /allowPrivilegeEscalation/);
});

test("the check rejects any other writable mount, and a state mount elsewhere", () => {
  const writable = (mount) => {
    const objects = kustomize(path.join(k8sDir, "base"));
    const [statefulSet] = find(objects, "StatefulSet");
    const container = statefulSet.spec.template.spec.containers[0];
    container.volumeMounts = container.volumeMounts.filter((m) => m.name !== "state");
    container.volumeMounts.push(mount);
    return objects;
  };
  assert.throws(() => checkRendering(writable({ name: "config", mountPath: "/etc/creatify-exporter",
    readOnly: false }), kRenderings.base), /must be read-only/);
  assert.throws(() => checkRendering(writable({ name: "state", mountPath: "/tmp" }),
    kRenderings.base), /must be read-only/);
});

test("the check rejects replicas that differ from --total-shards", () => {
  const objects = kustomize(path.join(k8sDir, "overlays/sharded"));
  find(objects, "StatefulSet")[0].spec.replicas = 2;
  assert.throws(() => checkRendering(objects, kRenderings["overlays/sharded"]), /replicas/);
});

test("the check rejects a pair without its budget, spread, or with shard flags", () => {
  const ha = () => kustomize(path.join(k8sDir, "overlays/ha"));
  const topology = kRenderings["overlays/ha"];
  const statefulSetOf = (objects) => find(objects, "StatefulSet")[0];

  let objects = ha();
  objects.splice(objects.findIndex((o) => o.kind === "PodDisruptionBudget"), 1);
  assert.throws(() => checkRendering(objects, topology), /one PodDisruptionBudget/);

  objects = ha();
  find(objects, "PodDisruptionBudget")[0].spec.minAvailable = 2;
  assert.throws(() => checkRendering(objects, topology), /minAvailable/);

  objects = ha();
  find(objects, "PodDisruptionBudget")[0].spec.selector.matchLabels["app.kubernetes.io/name"] = "x";
  assert.throws(() => checkRendering(objects, topology), /PodDisruptionBudget: selector/);

  objects = ha();
  delete statefulSetOf(objects).spec.template.spec.affinity;
  assert.throws(() => checkRendering(objects, topology), /podAntiAffinity/);

  objects = ha();
  statefulSetOf(objects).spec.template.spec.containers[0].args.push("--total-shards=2");
  assert.throws(() => checkRendering(objects, topology), /total-shards/);

  // Replicas of several shards each are no topology the manifests offer.
  assert.throws(() => checkRendering(ha(), { replicas: 2, shards: 3 }), /replicas: one per shard/);
});
