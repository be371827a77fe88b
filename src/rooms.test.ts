// The rooms of the source tree and what each may import (docs/design-review.md). Reads
// every module's import lines: a rule broken here is a design change to make on purpose,
// in that document first.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(SRC, "..");

interface Import {
  /** Where it points, relative to the repository ("src/core/compose.ts"), or the package. */
  target: string;
  typeOnly: boolean;
}

function modules(dir: string): string[] {
  return (
    readdirSync(dir, { withFileTypes: true, recursive: true })
      // Tests and benches (which the build leaves out too) are not modules of the product.
      .filter(
        (e) => e.isFile() && /\.(ts|mjs)$/.test(e.name) && !/\.(test|bench)\.ts$/.test(e.name),
      )
      .map((e) => relative(ROOT, join(e.parentPath, e.name)))
  );
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found: Import[] = [];
  const statements = text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms);
  // Dynamic imports too: a rule a lazy `await import(...)` could walk around is no rule.
  const dynamic = text.matchAll(/\bimport\(\s*()"([^"]+)"\s*\)/g);
  for (const m of [...statements, ...dynamic]) {
    const spec = m[2] as string;
    const target = spec.startsWith(".")
      ? relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, ".ts")
      : spec;
    found.push({ target, typeOnly: m[1] !== undefined && m[1] !== "" });
  }
  return found;
}

function offending(files: string[], allowed: (i: Import, file: string) => boolean): string[] {
  return files.flatMap((f) =>
    importsOf(f)
      .filter((i) => !allowed(i, f))
      .map((i) => `${f} imports ${i.target}`),
  );
}

/** The folders of one engine each: none may reach into another. */
const ENGINES = ["compose", "swarm", "kubernetes"];
const engineOf = (target: string) =>
  /^src\/backend\/(compose|swarm|kubernetes)\//.exec(target)?.[1];

const NODE_IO = /^node:(fs|fs\/promises|child_process|net|http|https|tls|dgram|dns|os)$/;
const SIDECARS = ["pipelock", "egress", "git-gate", "supervise"];

describe("rooms", () => {
  it("the core is pure: no I/O, no engine, no CLI", () => {
    const bad = offending(modules(join(SRC, "core")), (i) => {
      if (NODE_IO.test(i.target)) return false;
      if (!i.target.startsWith("src/")) return true;
      if (/^src\/(core|contracts|shared|manifest)\//.test(i.target)) return true;
      // The provider modules describe a program; fetching it (agent-package) is I/O.
      if (i.target.startsWith("src/agents/")) return i.typeOnly || !/agent-package/.test(i.target);
      // The shapes of the files the host writes for a sidecar, never its code.
      if (i.target.startsWith("src/sidecars/")) return i.typeOnly;
      return false;
    });
    expect(bad).toEqual([]);
  });

  it("each sidecar is a bundle of its own: its folder, contracts and shared code only", () => {
    const bad = SIDECARS.flatMap((name) =>
      offending(modules(join(SRC, "sidecars", name)), (i) => {
        if (!i.target.startsWith("src/")) return true;
        return (
          i.target.startsWith(`src/sidecars/${name}/`) ||
          /^src\/(contracts|shared)\//.test(i.target)
        );
      }),
    );
    expect(bad).toEqual([]);
  });

  it("contracts are data: they import only other contracts and the version", () => {
    // Image tags carry the package version, so the version constant is the one exception.
    const bad = offending(
      modules(join(SRC, "contracts")),
      (i) =>
        !i.target.startsWith("src/") ||
        i.target.startsWith("src/contracts/") ||
        i.target === "src/shared/version.ts",
    );
    expect(bad).toEqual([]);
  });

  it("no engine imports another, and the code they share imports none of them", () => {
    const bad = [
      ...ENGINES.flatMap((name) =>
        offending(modules(join(SRC, "backend", name)), (i) => {
          const engine = engineOf(i.target);
          return engine === undefined || engine === name;
        }),
      ),
      ...offending(
        modules(join(SRC, "backend", "engine")),
        (i) => engineOf(i.target) === undefined,
      ),
    ];
    expect(bad).toEqual([]);
  });

  it("outside backend/, engines are reached through the seam", () => {
    // The seam: backend.ts and the registry (backends.ts) by name; Kubernetes, which only
    // renders, is in the registry as a Renderer.
    const outside = modules(SRC).filter((f) => !f.startsWith("src/backend/"));
    expect(offending(outside, (i) => engineOf(i.target) === undefined)).toEqual([]);
  });

  it("approval and the dashboard reach bottles only through the seam, never the CLI", () => {
    const bad = [
      ...offending(modules(join(SRC, "approval")), (i) => {
        if (engineOf(i.target) !== undefined) return false;
        return !/^src\/(backend\/engine|cli|dashboard)\//.test(i.target);
      }),
      ...offending(modules(join(SRC, "dashboard")), (i) => {
        if (engineOf(i.target) !== undefined) return false;
        return !/^src\/(backend\/engine|cli)\//.test(i.target);
      }),
    ];
    expect(bad).toEqual([]);
  });

  it("no module under src/ imports the tests' helpers", () => {
    const bad = offending(modules(SRC), (i) => !i.target.startsWith("test/"));
    expect(bad).toEqual([]);
    expect(modules(SRC).filter((f) => /fixture/.test(f))).toEqual([]);
  });

  it("sees the imports it checks", () => {
    // Guards the parser: a rule over an empty list would always pass.
    const compose = importsOf("src/core/compose.ts").map((i) => i.target);
    expect(compose).toContain("src/contracts/pipelock.ts");
    expect(modules(join(SRC, "sidecars", "pipelock")).length).toBeGreaterThan(10);
    expect(modules(join(SRC, "backend", "swarm")).length).toBeGreaterThan(3);
    // Dynamic imports and .mjs modules are read too.
    expect(modules(join(SRC, "demo"))).toContain("src/demo/stub-upstream-server.mjs");
  });
});
