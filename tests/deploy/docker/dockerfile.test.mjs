// Static checks of the Dockerfile (no container engine here): it lints clean, builds like the
// README, and its final stage runs as a numeric non-root user with a health check, OCI labels,
// the exporter's port and an exec-form entry point.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { validate } from "dockerfile-utils";
import {
  aptPackages, dockerfileStages, installDepsPackages, projectVersion, read, readmeCmakeCommands,
  repoRoot,
} from "./lib.mjs";

const stages = dockerfileStages();
const build = stages.find((s) => s.name === "build");
const final = stages.at(-1);
const finalOf = (keyword) => final.instructions.filter((i) => i.keyword === keyword);
const squash = (s) => s.replace(/\s+/g, " ").trim();

test("dockerfile-utils reports nothing", () => {
  const diagnostics = validate(read("Dockerfile"));
  assert.deepEqual(diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
});

test("two stages: a bookworm build stage and a bookworm-slim runtime", () => {
  assert.ok(build, "no stage named build");
  assert.equal(build.from.getImage(), "debian:bookworm");
  assert.equal(final.from.getImage(), "debian:bookworm-slim");
  assert.notEqual(final, build);
});

test("the build stage installs the build packages of scripts/install-deps.sh", () => {
  // install-deps.sh lists the build packages apart from what the tests need; the image needs
  // exactly the former.
  const expected = installDepsPackages().sort();
  const installed = build.instructions.filter((i) => i.keyword === "RUN")
    .flatMap((i) => aptPackages(i.args)).sort();
  assert.deepEqual(installed, expected);
});

test("the build stage runs the README's cmake commands, tests off", () => {
  const readme = readmeCmakeCommands();
  assert.ok(readme.some((c) => c.includes("cmake -S")) && readme.some((c) => c.includes("--build")),
    "README.md shows no build (cmake -S ... and cmake --build ...) in a code block");
  const runs = build.instructions.filter((i) => i.keyword === "RUN").map((i) => squash(i.args));
  const cmakeRun = runs.find((r) => r.includes("cmake -S"));
  assert.ok(cmakeRun, "no RUN cmake -S in the build stage");
  assert.ok(cmakeRun.includes(" -DBUILD_TESTING=OFF"), "the image build skips the tests");
  const asReadme = cmakeRun.replace(" -DBUILD_TESTING=OFF", "");
  for (const command of readme) assert.ok(asReadme.includes(squash(command)), `README: ${command}`);
});

test("the runtime stage installs shared libraries only", () => {
  const packages = finalOf("RUN").flatMap((i) => aptPackages(i.args));
  assert.ok(packages.length > 0, "no apt-get install in the runtime stage");
  for (const p of packages) assert.ok(!p.endsWith("-dev"), `${p}: no -dev package at run time`);
  assert.ok(packages.includes("ca-certificates"), "ca-certificates for https://api.creatify.ai");
});

test("the runtime stage copies both binaries and the example config, its state on the volume", () => {
  const copies = finalOf("COPY")
    .map((i) => [i.instruction.getFromFlag()?.getValue() ?? null, squash(i.args)]);
  assert.deepEqual(copies, [
    ["build", "/src/build/creatify-exporter /src/build/creatify-simulator /usr/local/bin/"],
    ["build", "/src/build/config.yaml /etc/creatify-exporter/config.yaml"],
  ]);
  const example = readFileSync(path.join(repoRoot, "config/creatify-exporter.example.yaml"), "utf8");
  // The build stage's sed must find the line it rewrites.
  assert.match(example, /^  path: creatify-exporter\.db$/m);
  assert.ok(finalOf("VOLUME").some((i) => i.args.includes("/var/lib/creatify-exporter")));
  assert.equal(finalOf("WORKDIR").at(-1)?.args.trim(), "/var/lib/creatify-exporter");
});

test("the final stage runs as a numeric non-root user", () => {
  const users = finalOf("USER");
  assert.ok(users.length > 0, "no USER in the final stage");
  const match = users.at(-1).args.trim().match(/^(\d+)(?::(\d+))?$/);
  assert.ok(match, `USER ${users.at(-1).args} is not numeric uid[:gid]`);
  assert.notEqual(Number(match[1]), 0, "USER is root");
  if (match[2] !== undefined) assert.notEqual(Number(match[2]), 0, "group is root");
});

test("the final stage's HEALTHCHECK asks the exporter on its health socket, in the state volume", () => {
  const checks = finalOf("HEALTHCHECK");
  assert.equal(checks.length, 1);
  assert.equal(checks[0].instruction.getSubcommand()?.getValue(), "CMD");
  // Exec form: no shell needed in the image.
  assert.deepEqual(JSON.parse(checks[0].args.replace(/^.*?CMD\s+/s, "")),
    ["/usr/local/bin/creatify-exporter", "--web.health-check"]);
  const env = Object.fromEntries(finalOf("ENV")
    .flatMap((i) => i.instruction.getProperties().map((p) => [p.getName(), p.getValue()])));
  assert.equal(env.CREATIFY_EXPORTER_HEALTH_SOCKET, "/var/lib/creatify-exporter/health.sock");
  assert.equal(env.CREATIFY_HEALTHCHECK_PORT, undefined, "the old port variable is gone");
  assert.ok(finalOf("VOLUME").some((v) => v.args.includes("/var/lib/creatify-exporter")),
    "the socket's directory is the state volume");
});

test("the final stage exposes 10487", () => {
  const ports = finalOf("EXPOSE").flatMap((i) => i.args.trim().split(/\s+/));
  assert.ok(ports.includes("10487") || ports.includes("10487/tcp"), `EXPOSE ${ports}`);
});

test("exec-form ENTRYPOINT is the exporter, CMD the config in the image", () => {
  const [entrypoint, ...extra] = finalOf("ENTRYPOINT");
  assert.equal(extra.length, 0);
  assert.deepEqual(JSON.parse(entrypoint.args), ["/usr/local/bin/creatify-exporter"]);
  const [cmd] = finalOf("CMD");
  assert.deepEqual(JSON.parse(cmd.args), ["--config.file=/etc/creatify-exporter/config.yaml"]);
});

test("OCI labels are present and the version is the project's", () => {
  const labels = Object.fromEntries(finalOf("LABEL")
    .flatMap((i) => i.instruction.getProperties().map((p) => [p.getName(), p.getValue()])));
  for (const key of ["title", "description", "source", "version", "revision"]) {
    assert.ok(labels[`org.opencontainers.image.${key}`], `label org.opencontainers.image.${key}`);
  }
  const args = Object.fromEntries(finalOf("ARG").map((i) => i.args.trim().split("=")));
  const version = labels["org.opencontainers.image.version"].replace(/^\$\{(\w+)\}$/,
    (_, name) => args[name]);
  assert.equal(version, projectVersion(), "image version = project(VERSION) in CMakeLists.txt");
});

test(".dockerignore keeps what the build needs", () => {
  const patterns = read(".dockerignore").split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  assert.ok(patterns.some((p) => p.startsWith("build")), "host build trees are ignored");
  assert.ok(patterns.some((p) => p.includes("node_modules")), "node_modules is ignored");
  for (const needed of ["src", "cmake", "config", "CMakeLists.txt", ".git"]) {
    assert.ok(!patterns.some((p) => p.replace(/^\/|\/$/g, "") === needed), `${needed} is ignored`);
  }
});
