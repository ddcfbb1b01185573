// The prometheus-operator component: the ServiceMonitor scrapes the exporter's Service, the
// PrometheusRule holds exactly the groups of deploy/prometheus/rules.yaml, and both carry the
// release label set from the one value the overlay gives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { find, k8sDir, kustomize, repoRoot } from "./lib.mjs";

const overlayDir = path.join(k8sDir, "overlays/example");

function releaseLabels(objects) {
  const [monitor] = find(objects, "ServiceMonitor", "creatify-exporter");
  const [rule] = find(objects, "PrometheusRule", "creatify-exporter");
  assert.ok(monitor, "no ServiceMonitor creatify-exporter");
  assert.ok(rule, "no PrometheusRule creatify-exporter");
  return [monitor.metadata.labels?.release, rule.metadata.labels?.release];
}

test("the example overlay's ServiceMonitor and PrometheusRule carry its release label", () => {
  const settings = parse(readFileSync(path.join(overlayDir, "prometheus-operator.yaml"), "utf8"));
  const release = settings.data.release;
  assert.ok(release, "prometheus-operator.yaml sets no data.release");
  const objects = kustomize(overlayDir);
  assert.deepEqual(releaseLabels(objects), [release, release]);
  assert.equal(find(objects, "ConfigMap", settings.metadata.name).length, 0,
    "the settings ConfigMap is local to kustomize and must not be output");
});

test("one value in an overlay sets the release label of both objects", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "creatify-overlay-"));
  try {
    const rel = (p) => path.relative(dir, path.join(k8sDir, p));
    writeFileSync(path.join(dir, "kustomization.yaml"), [
      "resources:",
      `  - ${rel("base")}`,
      "  - settings.yaml",
      "components:",
      `  - ${rel("components/prometheus-operator")}`,
      "",
    ].join("\n"));
    writeFileSync(path.join(dir, "settings.yaml"), [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: creatify-exporter-prometheus-operator",
      "  annotations:",
      '    config.kubernetes.io/local-config: "true"',
      "data:",
      "  release: my-monitoring",
      "",
    ].join("\n"));
    assert.deepEqual(releaseLabels(kustomize(dir)), ["my-monitoring", "my-monitoring"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the ServiceMonitor scrapes the exporter's Service on http-metrics every 30s", () => {
  const objects = kustomize(overlayDir);
  const [monitor] = find(objects, "ServiceMonitor", "creatify-exporter");
  // Only the Service creatify-exporter: the job label is its name, and the StatefulSet's headless
  // Service selects the same pods, which would then be scraped twice.
  const selected = find(objects, "Service").filter((s) => Object.entries(
    monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
  assert.deepEqual(selected.map((s) => s.metadata.name), ["creatify-exporter"]);
  assert.equal(monitor.spec.selector.matchExpressions, undefined);
  const [service] = selected;
  assert.equal(monitor.metadata.namespace, service.metadata.namespace);
  assert.equal(monitor.spec.endpoints.length, 1);
  const [endpoint] = monitor.spec.endpoints;
  assert.equal(endpoint.port, "http-metrics");
  assert.ok(service.spec.ports.some((p) => p.name === endpoint.port), "the Service has the port");
  assert.equal(endpoint.interval, "30s");
  assert.equal(endpoint.path ?? "/metrics", "/metrics");
});

test("the PrometheusRule's groups are exactly those of deploy/prometheus/rules.yaml", () => {
  const rulesFile = path.join(repoRoot, "deploy/prometheus/rules.yaml");
  const rules = parse(readFileSync(rulesFile, "utf8"));
  assert.deepEqual(Object.keys(rules), ["groups"], "rules.yaml has only `groups`");
  const [rule] = find(kustomize(overlayDir), "PrometheusRule", "creatify-exporter");
  assert.deepEqual(rule.spec, { groups: rules.groups },
    "out of date: run scripts/gen-prometheusrule.sh");
});
