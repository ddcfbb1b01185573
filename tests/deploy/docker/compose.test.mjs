// docker-compose.yml, checked without a container engine: the four services, how the exporter
// gets the simulator's config and credentials, where it keeps its state, ports, and that every
// mounted file exists and fits the program that reads it. compose_config.test.mjs runs `docker compose config`.
// demo_config.test.mjs runs the simulator and the exporter with these settings.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { read, repoRoot } from "./lib.mjs";

const compose = parse(read("docker-compose.yml"), { merge: true });
const { simulator, exporter, prometheus, grafana } = compose.services;

// "--name=value" flags of a command list.
const flags = (command) => Object.fromEntries(
  (command ?? []).filter((a) => a.startsWith("--")).map((a) => a.slice(2).split(/=(.*)/s, 2)));
// Short-syntax mounts: { source, target, readOnly }.
const mounts = (service) => (service.volumes ?? []).map((v) => {
  const [source, target, mode] = v.split(":");
  return { source, target, readOnly: mode === "ro" };
});
const mountOf = (service, target) => mounts(service).find((m) => m.target === target);
const published = (service) => (service.ports ?? []).map(String);

test("the four services", () => {
  assert.deepEqual(Object.keys(compose.services).sort(),
    ["exporter", "grafana", "prometheus", "simulator"]);
});

test("the simulator and the exporter are the image built from the Dockerfile", () => {
  for (const service of [simulator, exporter]) {
    assert.equal(service.build?.context, ".");
    assert.equal(service.build?.dockerfile ?? "Dockerfile", "Dockerfile");
  }
  assert.equal(simulator.image, exporter.image);
  assert.deepEqual(simulator.entrypoint, ["/usr/local/bin/creatify-simulator"]);
  assert.equal(exporter.entrypoint, undefined, "the exporter keeps the image's entry point");
});

test("the exporter reads the config the simulator writes, on a shared volume", () => {
  const written = flags(simulator.command)["write-exporter-config"];
  const readBy = flags(exporter.command)["config.file"];
  assert.ok(written, "simulator has no --write-exporter-config");
  assert.equal(readBy, written);
  const dir = path.posix.dirname(written);
  const simulatorMount = mountOf(simulator, dir);
  const exporterMount = mountOf(exporter, dir);
  assert.ok(simulatorMount && exporterMount, `both mount ${dir}`);
  assert.equal(exporterMount.source, simulatorMount.source);
  assert.ok(compose.volumes?.[simulatorMount.source] !== undefined, "a named volume");
  assert.equal(simulatorMount.readOnly, false);
  assert.equal(exporterMount.readOnly, true);
  // The exporter starts once the file is there, which the simulator's health check tests.
  assert.equal(exporter.depends_on?.simulator?.condition, "service_healthy");
  assert.ok(simulator.healthcheck?.test?.join(" ").includes(written));
});

test("the exporter keeps its state on a named volume, where its config says", () => {
  const stateDir = "/var/lib/creatify-exporter";  // the image's VOLUME, owned by its user
  const mount = mountOf(exporter, stateDir);
  assert.ok(mount, `the exporter mounts ${stateDir}`);
  assert.equal(mount.readOnly, false);
  assert.ok(!mount.source.startsWith(".") && !mount.source.startsWith("/"), "a named volume");
  assert.ok(mount.source in (compose.volumes ?? {}), `volume ${mount.source} is declared`);
  // A tmpfs would lose the state with the container.
  assert.equal(compose.volumes[mount.source]?.driver_opts?.type, undefined, "a lasting volume");
  assert.equal(flags(simulator.command)["exporter-state-path"], `${stateDir}/state.db`,
    "the simulator writes the state file's path into the exporter's config");
});

test("the exporter reaches the simulator by its service name", () => {
  const sim = flags(simulator.command);
  const port = sim["listen-address"].match(/^0\.0\.0\.0:(\d+)$/)?.[1];
  assert.ok(port, "the simulator listens on every interface of its container");
  assert.equal(sim["exporter-base-url"], `http://simulator:${port}`);
  assert.ok(published(simulator).includes(`${port}:${port}`));
  assert.ok(published(exporter).includes("10487:10487"));
});

test("the exporter's credentials are the simulator's", () => {
  const sim = flags(simulator.command);
  assert.equal(exporter.environment.CREATIFY_API_ID, sim["api-id"]);
  assert.equal(exporter.environment.CREATIFY_API_KEY, sim["api-key"]);
  assert.equal(sim["api-id"], "demo-id");
  assert.equal(sim["api-key"], "demo-key");
});

test("Prometheus loads the project's rules and scrapes the exporter", () => {
  assert.match(prometheus.image, /^prom\/prometheus:v\d/);
  const config = mountOf(prometheus, "/etc/prometheus/prometheus.yml");
  const rules = mountOf(prometheus, "/etc/prometheus/rules.yaml");
  assert.equal(config?.source, "./deploy/compose/prometheus.yml");
  assert.equal(rules?.source, "./deploy/prometheus/rules.yaml");

  const prom = parse(read("deploy/compose/prometheus.yml"));
  const ruleTargets = prom.rule_files.map((f) => path.posix.resolve("/etc/prometheus", f));
  assert.deepEqual(ruleTargets, [rules.target]);
  const [job] = prom.scrape_configs;
  assert.equal(job.job_name, "creatify-exporter", "the job the alerts expect");
  assert.deepEqual(job.static_configs[0].targets, ["exporter:10487"]);
  assert.ok(published(prometheus).includes("9090:9090"));
});

test("promtool accepts the compose Prometheus config beside the rules", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "creatify-compose-"));
  try {
    copyFileSync(path.join(repoRoot, "deploy/compose/prometheus.yml"), path.join(dir, "prometheus.yml"));
    copyFileSync(path.join(repoRoot, "deploy/prometheus/rules.yaml"), path.join(dir, "rules.yaml"));
    const result = spawnSync("promtool", ["check", "config", "prometheus.yml"],
      { cwd: dir, encoding: "utf8" });
    assert.equal(result.status, 0, `${result.error ?? ""}${result.stdout}${result.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Grafana provisions the datasource and dashboards, anonymous viewers allowed", () => {
  assert.match(grafana.image, /^grafana\/grafana:\d/);
  assert.equal(mountOf(grafana, "/etc/grafana/provisioning")?.source, "./grafana/provisioning");
  assert.equal(mountOf(grafana, "/var/lib/grafana/dashboards")?.source, "./grafana/dashboards");
  assert.equal(grafana.environment.GF_AUTH_ANONYMOUS_ENABLED, "true");
  assert.equal(grafana.environment.GF_AUTH_ANONYMOUS_ORG_ROLE, "Viewer");
  const home = grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
  if (home) {
    const file = path.posix.relative("/var/lib/grafana/dashboards", home);
    assert.ok(existsSync(path.join(repoRoot, "grafana/dashboards", file)), `${home} exists`);
  }
  // The provisioned datasource points at the compose service.
  const datasources = read("grafana/provisioning/datasources/prometheus.yaml");
  assert.match(datasources, /http:\/\/prometheus:9090/);
  assert.ok(published(grafana).includes("3000:3000"));
});

test("every bind-mounted path exists in the repository", () => {
  for (const [name, service] of Object.entries(compose.services)) {
    for (const { source } of mounts(service)) {
      if (!source.startsWith(".")) continue;  // a named volume
      assert.ok(existsSync(path.join(repoRoot, source)), `${name}: ${source} is missing`);
    }
  }
});
