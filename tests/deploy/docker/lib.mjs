// Helpers shared by the container checks: the Dockerfile split into stages, the README's build.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { DockerfileParser } from "dockerfile-ast";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const read = (p) => readFileSync(path.join(repoRoot, p), "utf8");

// The Dockerfile as stages: { from, name, instructions: [{ keyword, args, instruction }] }.
export function dockerfileStages(text = read("Dockerfile")) {
  const stages = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === "FROM") {
      stages.push({ from: instruction, name: instruction.getBuildStage(), instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1).instructions.push({
        keyword,
        args: instruction.getArgumentsContent() ?? "",
        instruction,
      });
    }
  }
  return stages;
}

// Packages named by `apt-get install` in a RUN's text, options left out.
export function aptPackages(runText) {
  const match = runText.match(/apt-get install([^&;|]*)/);
  if (!match) return [];
  return match[1].split(/\s+/).filter((w) => w && !w.startsWith("-"));
}

// The `packages=( ... )` list of scripts/install-deps.sh.
export function installDepsPackages() {
  const match = read("scripts/install-deps.sh").match(/^build=\(([^)]*)\)/m);
  if (!match) throw new Error("scripts/install-deps.sh: no build=( ... ) list");
  return match[1].split(/\s+/).filter(Boolean);
}

// Lines of the README's shell code blocks that run cmake (the documented build).
export function readmeCmakeCommands() {
  const commands = [];
  for (const block of read("README.md").matchAll(/```(?:sh|bash|shell|console)?\n([\s\S]*?)```/g)) {
    for (const line of block[1].split("\n")) {
      const command = line.replace(/^\$\s*/, "").trim();
      if (command.startsWith("cmake ")) commands.push(command);
    }
  }
  return commands;
}

// The project version from the top-level CMakeLists.txt.
export function projectVersion() {
  const match = read("CMakeLists.txt").match(/project\([^)]*VERSION\s+([0-9.]+)/);
  if (!match) throw new Error("CMakeLists.txt: no project(... VERSION x.y.z)");
  return match[1];
}
