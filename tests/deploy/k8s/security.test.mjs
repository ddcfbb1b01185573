// The Deployment's promises, in the base and in the example overlay: one replica, Recreate, the
// restricted pod security profile on the pod and on every container, probes, the named port,
// no service account token, resources set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { find, k8sDir, kustomize, repoRoot } from "./lib.mjs";

const PORT_NAME = "http-metrics";
const PORT = 10487;

function checkRendering(objects) {
  const [deployment] = find(objects, "Deployment", "creatify-exporter");
  assert.ok(deployment, "no Deployment creatify-exporter");
  const spec = deployment.spec;
  const pod = spec.template.spec;

  assert.equal(spec.replicas, 1, "replicas");
  assert.equal(spec.strategy?.type, "Recreate", "strategy: two exporters must never poll at once");

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

  // No writable volume: only read-only ConfigMap, Secret or projected sources.
  for (const v of pod.volumes ?? []) {
    assert.ok(v.configMap || v.secret || v.projected, `volume ${v.name} must be read-only content`);
  }

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
    for (const m of c.volumeMounts ?? []) {
      assert.equal(m.readOnly, true, `${where}: volume mount ${m.mountPath} must be read-only`);
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

  // The config volume is the rendered ConfigMap (hash suffix included).
  const configVolume = pod.volumes.find((v) => v.configMap);
  assert.equal(find(objects, "ConfigMap", configVolume.configMap.name).length, 1, "ConfigMap");

  // The Service reaches the pod on the named port.
  const [service] = find(objects, "Service", "creatify-exporter");
  assert.ok(service, "no Service creatify-exporter");
  assert.deepEqual(
    service.spec.ports.map((p) => [p.name, p.port, p.targetPort]),
    [[PORT_NAME, PORT, PORT_NAME]],
  );
  const podLabels = spec.template.metadata.labels;
  for (const [k, v] of Object.entries(service.spec.selector)) {
    assert.equal(podLabels[k], v, `Service selector ${k} matches the pod`);
  }
  for (const [k, v] of Object.entries(spec.selector.matchLabels)) {
    assert.equal(podLabels[k], v, `Deployment selector ${k} matches the pod`);
  }
}

for (const dir of ["base", "overlays/example"]) {
  test(`${dir}: Deployment settings`, () => checkRendering(kustomize(path.join(k8sDir, dir))));
}

test("the image is the project's release, and the overlay's images entry applies", () => {
  const version = readFileSync(path.join(repoRoot, "CMakeLists.txt"), "utf8")
    .match(/project\([^)]*VERSION\s+([0-9.]+)/)[1];
  const imageOf = (objects) => find(objects, "Deployment")[0].spec.template.spec.containers[0].image;
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
  const [deployment] = find(objects, "Deployment");
  deployment.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  assert.throws(() => checkRendering(objects), /allowPrivilegeEscalation/);
});
