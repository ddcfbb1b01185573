// Runs the Dockerfile's HEALTHCHECK command, as Docker would in the final stage, with the
// exporter binary of this build (argv: its path) against stub servers on a Unix socket at the
// image's CREATIFY_EXPORTER_HEALTH_SOCKET: it passes on 200 from /-/healthy and fails otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { dockerfileStages } from "./lib.mjs";

const exporter = process.argv[2];
const final = dockerfileStages().at(-1);
const [check] = final.instructions.filter((i) => i.keyword === "HEALTHCHECK");
const argv = JSON.parse(check.args.replace(/^.*?CMD\s+/s, ""));
const env = Object.fromEntries(final.instructions
  .filter((i) => i.keyword === "ENV")
  .flatMap((i) => i.instruction.getProperties().map((p) => [p.getName(), p.getValue()])));

test("the check is the image's exporter binary, on the image's health socket", () => {
  assert.equal(argv[0], "/usr/local/bin/creatify-exporter");
  assert.ok(env.CREATIFY_EXPORTER_HEALTH_SOCKET, "no CREATIFY_EXPORTER_HEALTH_SOCKET");
  assert.ok(exporter, "usage: healthcheck.test.mjs EXPORTER_BINARY");
});

const dir = mkdtempSync(path.join(os.tmpdir(), "creatify-healthcheck-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
// The image's path, moved into the test's directory.
const socket = path.join(dir, path.basename(env.CREATIFY_EXPORTER_HEALTH_SOCKET ?? "health.sock"));

function run() {
  const [, ...args] = argv;
  const options = {
    timeout: 10_000,
    env: { ...process.env, CREATIFY_EXPORTER_HEALTH_SOCKET: socket },
  };
  return new Promise((resolve) => {
    execFile(exporter, args, options, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? 1) : 0, stderr }));
  });
}

async function withServer(status, body) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(status, { "Content-Type": "text/plain" }).end(body);
  });
  server.listen(socket);
  await once(server, "listening");
  try {
    return { ...(await run()), requests };
  } finally {
    server.close();
    await once(server, "close");
  }
}

test("healthy exporter: exit 0, and it asked for /-/healthy", async () => {
  const { code, requests, stderr } = await withServer(200, "Healthy");
  assert.equal(code, 0, stderr);
  assert.deepEqual(requests, ["GET /-/healthy"]);
});

test("unhealthy answer: exit 1 and why", async () => {
  const { code, stderr } = await withServer(503, "Service Unavailable");
  assert.equal(code, 1);
  assert.match(stderr, /answered "HTTP\/1\.1 503 Service Unavailable" to GET \/-\/healthy/);
});

test("nothing listening: exit 1 and why", async () => {
  const { code, stderr } = await run();
  assert.equal(code, 1);
  assert.match(stderr, /cannot connect to the exporter at .*: No such file or directory/);
});
