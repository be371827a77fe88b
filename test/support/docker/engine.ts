// Gate for tests that need a real Docker engine and Compose v2. Without them a test
// file skips, loudly; under CI (any non-empty CI: CI=1 as well as CI=true) it fails
// instead, so CI can never pass by skipping.
import { execFileSync } from "node:child_process";
import { describe } from "vitest";

function probe(): string | null {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
      stdio: "pipe",
      timeout: 20_000,
    });
  } catch {
    return "no Docker engine answers `docker info`";
  }
  try {
    execFileSync("docker", ["compose", "version"], { stdio: "pipe", timeout: 20_000 });
  } catch {
    return "Docker Compose v2 is missing (`docker compose version` failed)";
  }
  return null;
}

let cached: string | null | undefined;

/** Why the engine is unusable, or null when it is usable. */
export function engineProblem(): string | null {
  if (cached === undefined) cached = probe();
  return cached;
}

/** Whether the tests run under CI: any non-empty `CI`, as CI services set it. */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.CI ?? "") !== "";
}

/** describe() that needs the engine: skipped without one, except under CI where it fails. */
export function describeWithEngine(name: string, body: () => void): void {
  const problem = engineProblem();
  if (problem === null) {
    describe(name, body);
  } else if (underCi()) {
    describe(name, () => {
      throw new Error(
        `${problem}; CI=${process.env.CI} requires a Docker engine (run scripts/setup-host.sh)`,
      );
    });
  } else {
    process.stderr.write(`skipping "${name}": ${problem}\n`);
    describe.skip(name, body);
  }
}
