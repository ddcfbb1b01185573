// `docker compose config` accepts docker-compose.yml. Skipped (exit 77) without the Compose v2
// plugin, which Debian 12's archive does not have (its docker-compose is the older v1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { repoRoot } from "./lib.mjs";

if (spawnSync("docker", ["compose", "version"]).status !== 0) {
  console.log("SKIPPED: no `docker compose` (the Compose v2 plugin is not in Debian 12)");
  process.exit(77);
}

test("docker compose config accepts the file", () => {
  const result = spawnSync("docker", ["compose", "-f", "docker-compose.yml", "config", "-q"],
    { cwd: repoRoot, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
});
