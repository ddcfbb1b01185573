// The compose demo's hand-over, with the real binaries: the simulator, run with the flags of
// docker-compose.yml, writes a config that the exporter, with the environment of
// docker-compose.yml, accepts.
//   node demo_config.test.mjs EXPORTER SIMULATOR
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse } from "yaml";
import { read } from "./lib.mjs";

const [exporterBinary, simulatorBinary] = process.argv.slice(2);
const compose = parse(read("docker-compose.yml"), { merge: true });
const { simulator, exporter } = compose.services;

// Waits for `file` to be written, failing early if the process that writes it exits.
async function waitForFile(file, child, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (!(existsSync(file) && statSync(file).size > 0)) {
    assert.equal(child.exitCode, null, "the simulator exited before writing the config");
    assert.ok(Date.now() < deadline, `no ${file} after ${deadlineMs} ms`);
    await sleep(20);
  }
}

test("the simulator's compose flags write a config the exporter accepts", async () => {
  assert.ok(exporterBinary && simulatorBinary, "usage: demo_config.test.mjs EXPORTER SIMULATOR");
  const dir = mkdtempSync(path.join(os.tmpdir(), "creatify-demo-"));
  const written = path.join(dir, "exporter.yaml");
  // Same flags, but a free port on loopback and a private file.
  const args = simulator.command.map((a) => {
    if (a.startsWith("--listen-address=")) return "--listen-address=127.0.0.1:0";
    if (a.startsWith("--write-exporter-config=")) return `--write-exporter-config=${written}`;
    return a;
  });
  const child = spawn(simulatorBinary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  try {
    await waitForFile(written, child, 10_000);
    const config = parse(readFileSync(written, "utf8"));
    const baseUrl = args.find((a) => a.startsWith("--exporter-base-url="))?.split("=")[1];
    assert.equal(config.api.base_url, baseUrl);
    const statePath = args.find((a) => a.startsWith("--exporter-state-path="))?.split("=")[1];
    assert.equal(config.state?.path, statePath, "state.path is the compose flag's");

    // The compose environment's credentials win over any the caller has.
    const env = { ...process.env, ...exporter.environment };
    const result = await new Promise((resolve) => {
      execFile(exporterBinary, [`--config.file=${written}`, "--config.check"], { env },
        (error, stdout, errout) => resolve({ code: error ? error.code : 0, out: stdout + errout }));
    });
    assert.equal(result.code, 0, result.out);
  } catch (e) {
    e.message += `\nsimulator stderr:\n${stderr}`;
    throw e;
  } finally {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
