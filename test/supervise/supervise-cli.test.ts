// `claude-bottle supervise` and `claude-bottle audit`, run in-process against a home with one
// supervised bottle whose agent has filed proposals; the docker seam records the reload
// signal instead of sending it. No engine needed.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { SupervisedBottle } from "../../src/approval/supervised-bottle.js";
import { type CliContext, defaultContext } from "../../src/cli/cli-context.js";
import type { CliIo } from "../../src/cli/io.js";
import { runCli } from "../../src/cli/program.js";
import { hostActor, reviewInteractively } from "../../src/cli/supervise-command.js";
import { ProposalQueue } from "../../src/sidecars/supervise/proposal-queue.js";
import { makeSupervisedBottle, RecordingDocker } from "../support/sidecars/supervise-fixture.js";

let home: string;
let bottle: SupervisedBottle;
let docker: RecordingDocker;
let stdout: string;
let stderr: string;
const NOW = new Date("2030-01-01T12:10:00.000Z");
const FINGERPRINT = "0123456789abcdef0123456789abcdef01234567:test/key.pem:private-key:1";

function context(io: CliIo): CliContext {
  return {
    ...defaultContext(io),
    docker,
    env: { ...process.env, CLAUDE_BOTTLE_HOME: home },
    stdinIsTty: false,
    now: () => NOW,
  };
}

async function run(...argv: string[]): Promise<number> {
  stdout = "";
  stderr = "";
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  };
  return runCli(argv, io, context);
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "cb-supervise-cli-"));
  bottle = await makeSupervisedBottle(home);
  docker = new RecordingDocker();
  const ids = ["host0001", "leak0002"];
  let n = 0;
  const queue = new ProposalQueue({
    queueDir: bottle.queueDir,
    slug: bottle.slug,
    now: () => new Date("2030-01-01T12:00:00.000Z"),
    newId: () => ids[n++] ?? "spare0003",
  });
  await queue.submit(
    { kind: "egress-host", host: "api.example.test", port: null },
    "read the docs \u001b[2J\u202e",
  );
  await queue.submit({ kind: "gitleaks-exception", fingerprint: FINGERPRINT }, "a test fixture");
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("claude-bottle supervise", () => {
  it("lists pending proposals across bottles, escaping what the agent wrote", async () => {
    expect(await run("supervise")).toBe(0);
    const rows = stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.split(/ {2,}/));
    expect(rows).toEqual([
      ["ID", "BOTTLE", "STATUS", "AGE", "ASKS FOR", "REASON"],
      [
        "host0001",
        "demo-7f3a",
        "pending",
        "10m",
        "egress to api.example.test (ports 443 and 80)",
        "read the docs \\x1b[2J\\u202e",
      ],
      [
        "leak0002",
        "demo-7f3a",
        "pending",
        "10m",
        `gitleaks exception for ${FINGERPRINT.slice(0, 46)}…`,
        "a test fixture",
      ],
    ]);
  });

  it("approves an egress host: pipelock's policy, its reload, the answer and the audit log", async () => {
    expect(await run("supervise", "approve", "host", "--reason", "docs only", "--json")).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      id: "host0001",
      slug: "demo-7f3a",
      decision: "approved",
      reason: "docs only",
      request: { kind: "egress-host", host: "api.example.test", port: null },
      changes: ["added api.example.test to pipelock's allowlist"],
      resumed: false,
    });
    expect(parse(await readFile(bottle.pipelockConfig, "utf8")).allow).toContain(
      "api.example.test",
    );
    expect(docker.calls).toEqual([["kill", "-s", "HUP", "claude-bottle-pipelock-demo-7f3a"]]);
    expect(await run("supervise", "show", "host0001", "--json")).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      status: "approved",
      answer: { decision: "approved", by: hostActor(process.env), reason: "docs only" },
    });
    expect(await run("audit", "verify", "--slug", "demo-7f3a")).toBe(0);
    expect(stdout).toBe(`${join(home, "audit", "demo-7f3a.jsonl")}: 3 entries verified\n`);
  });

  it("refuses to decide a proposal twice", async () => {
    expect(await run("supervise", "deny", "leak0002", "--reason", "rotate the key")).toBe(0);
    expect(stdout).toBe("denied leak0002 (bottle demo-7f3a)\n");
    expect(await run("supervise", "approve", "leak0002")).toBe(1);
    expect(stderr).toBe(
      `claude-bottle: proposal leak0002 was already denied by ${hostActor(process.env)} at ${NOW.toISOString()} (rotate the key)\n` +
        "  hint: a proposal is decided once; the agent can file a new one\n",
    );
  });

  it("reports a usage error through the CLI's streams, exit 2", async () => {
    expect(await run("supervise", "approve")).toBe(2);
    expect(stderr).toContain("error: missing required argument 'id'");
    expect(await run("audit", "verify", "--bogus")).toBe(2);
    expect(stderr).toContain("error: unknown option '--bogus'");
  });

  it("needs a reason to deny", async () => {
    expect(await run("supervise", "deny", "leak0002")).toBe(2);
    expect(stderr).toBe(
      "claude-bottle: deny needs --reason: the agent is told why\n" +
        '  hint: claude-bottle supervise deny leak0002 --reason "…"\n',
    );
  });

  it("approves a gitleaks exception into the gate's allowlist", async () => {
    expect(await run("supervise", "approve", "leak0002")).toBe(0);
    expect(await readFile(bottle.gitleaksAllowFile, "utf8")).toBe(`${FINGERPRINT}\n`);
    expect(await run("supervise", "list", "--all", "--json")).toBe(0);
    expect(JSON.parse(stdout).map((p: { id: string; status: string }) => [p.id, p.status])).toEqual(
      [
        ["host0001", "pending"],
        ["leak0002", "approved"],
      ],
    );
  });

  it("walks the pending proposals on a terminal", async () => {
    const answers = ["2", "d", "", "no secrets in fixtures", "1", "a", ""];
    const io: CliIo = {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
    };
    stdout = "";
    await reviewInteractively(context(io), async () => answers.shift() ?? null);
    expect(answers).toEqual([]);
    expect(stdout).toContain("denied leak0002 (bottle demo-7f3a)\n");
    expect(stdout).toContain(
      "approved host0001 (bottle demo-7f3a)\n  - added api.example.test to pipelock's allowlist\n",
    );
  });
});

describe("claude-bottle audit verify", () => {
  beforeEach(async () => {
    expect(await run("supervise", "deny", "host0001", "--reason", "no")).toBe(0);
  });

  it("names the first edited line, exit 1", async () => {
    const log = join(home, "audit", "demo-7f3a.jsonl");
    const text = await readFile(log, "utf8");
    await writeFile(log, text.replace('"reason":"no"', '"reason":"yes"'));
    expect(await run("audit", "verify", "--file", log)).toBe(1);
    expect(stderr).toBe(
      `claude-bottle: audit log ${log}: line 3: edited: its fields do not match its hash\n` +
        "  hint: the 2 entries before that line verify; keep a copy of the file as it is\n",
    );
  });

  it("verifies every log by default and says when a bottle has none", async () => {
    expect(await run("audit", "verify")).toBe(0);
    expect(stdout).toBe(`${join(home, "audit", "demo-7f3a.jsonl")}: 3 entries verified\n`);
    expect(await run("audit", "verify", "--slug", "other-0000")).toBe(2);
    expect(stderr).toContain("no audit log for bottle other-0000");
  });

  it("shows a log's entries", async () => {
    expect(await run("audit", "show", "--slug", "demo-7f3a")).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^3\t2030-01-01T12:10:00.000Z\tdecided\thost0001\tdenied\t.+\tno$/);
  });
});
