// Runs the Dockerfile's HEALTHCHECK command, as Docker would in the final stage, against stub
// servers on 127.0.0.1: it passes on 200 from /-/healthy and fails otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import { dockerfileStages } from "./lib.mjs";

const [check] = dockerfileStages().at(-1).instructions.filter((i) => i.keyword === "HEALTHCHECK");
const argv = JSON.parse(check.args.replace(/^CMD\s+/, ""));

// The image sets CREATIFY_HEALTHCHECK_PORT to the exporter's default port; the tests set it to a
// free one, as a container started on another port does.
const env = Object.fromEntries(dockerfileStages().at(-1).instructions
  .filter((i) => i.keyword === "ENV")
  .flatMap((i) => i.instruction.getProperties().map((p) => [p.getName(), p.getValue()])));

test("the image probes the default port unless CREATIFY_HEALTHCHECK_PORT says otherwise", () => {
  assert.equal(env.CREATIFY_HEALTHCHECK_PORT, "10487");
  assert.ok(argv.some((a) => a.includes("/dev/tcp/127.0.0.1/${CREATIFY_HEALTHCHECK_PORT:-10487}")),
    "probes 127.0.0.1:$CREATIFY_HEALTHCHECK_PORT");
});

function run(port) {
  const [file, ...args] = argv;
  const options = { timeout: 10_000, env: { ...process.env, CREATIFY_HEALTHCHECK_PORT: String(port) } };
  return new Promise((resolve) => {
    execFile(file, args, options, (error) => resolve(error ? (error.code ?? 1) : 0));
  });
}

async function withServer(status, body) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    res.writeHead(status, { "Content-Type": "text/plain" }).end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    return { code: await run(server.address().port), requests };
  } finally {
    server.close();
  }
}

test("healthy exporter: exit 0, and it asked for /-/healthy", async () => {
  const { code, requests } = await withServer(200, "Healthy");
  assert.equal(code, 0);
  assert.deepEqual(requests, ["/-/healthy"]);
});

test("unhealthy answer: non-zero", async () => {
  const { code } = await withServer(503, "Service Unavailable");
  assert.notEqual(code, 0);
});

test("nothing listening: non-zero", async () => {
  const server = http.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  assert.notEqual(await run(port), 0);
});
