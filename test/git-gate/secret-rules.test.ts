// The gate's rules for the bottle's own secrets, run through the real gitleaks: each
// encoding of a secret in a commit is found, and a near miss is not.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSecretRules } from "../../src/sidecars/git-gate/secret-rules.js";
import { underCi } from "../support/docker/engine.js";
import { tempDirPerFile } from "../support/unit/temp-dir.js";

const SECRET = "cb'gate $ecret/9f8e+7d6c";

function hasGitleaks(): boolean {
  return spawnSync("gitleaks", ["version"]).status === 0;
}

const suite = hasGitleaks() || underCi() ? describe : describe.skip;

suite("bottle secret rules under gitleaks", () => {
  const dir = tempDirPerFile("cb-secret-rules-");

  function scan(content: string): string[] {
    const repo = join(dir(), `r${Math.random().toString(16).slice(2, 8)}`);
    execFileSync("git", ["init", "-q", repo]);
    execFileSync("sh", ["-c", `cat > '${repo}/README.md'`], { input: content });
    execFileSync("git", ["-C", repo, "add", "."]);
    execFileSync("git", [
      "-C",
      repo,
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@t",
      "commit",
      "-qm",
      "x",
    ]);
    const config = join(repo, "..", `${repo.split("/").pop()}.toml`);
    execFileSync("sh", ["-c", `cat > '${config}'`], {
      input: `[extend]\nuseDefault = true\n\n${renderSecretRules([{ name: "MY_TOKEN", value: SECRET }])}`,
    });
    const report = `${config}.json`;
    spawnSync("gitleaks", [
      "detect",
      "--no-banner",
      "--redact",
      "-c",
      config,
      "--source",
      repo,
      "--report-format",
      "json",
      "--report-path",
      report,
    ]);
    const findings = JSON.parse(
      execFileSync("cat", [report], { encoding: "utf8" }) || "[]",
    ) as Array<{ RuleID: string }>;
    return findings.map((f) => f.RuleID);
  }

  it.each([
    ["verbatim", SECRET],
    ["URL-encoded in a link", `[log](https://changes.example.test/${encodeURIComponent(SECRET)})`],
    ["base64", Buffer.from(`prefix ${SECRET} suffix`).toString("base64")],
    ["hex", Buffer.from(SECRET).toString("hex")],
  ])("finds the secret %s", (_label, content) => {
    expect(scan(`${content}\n`)).toContain("bottle-secret-0");
  });

  it("does not fire on a near miss", () => {
    expect(scan(`${SECRET.slice(0, -1)}X\n`)).not.toContain("bottle-secret-0");
  });

  it("renders nothing for no secrets", () => {
    expect(renderSecretRules([])).toBe("");
  });
});
