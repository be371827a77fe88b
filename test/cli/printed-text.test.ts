// The built CLI, run as a user runs it, prints no raw control, bidi or invisible character
// that a bottle (or anything else) put in its input: the printer on the fields it knows, and
// the net under process output for the rest (here, an error quoting a hostile setting).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAuditEntries, auditLogPath } from "../../src/approval/audit-log.js";
import { ProposalQueue } from "../../src/sidecars/supervise/proposal-queue.js";
import { makeTestHome, type TestHome } from "../support/cli/cli-process.js";
import { ALL_HOSTILE, rawControlsIn } from "../support/fixtures/hostile-text.js";
import { makeSupervisedBottle } from "../support/sidecars/supervise-fixture.js";

let t: TestHome;

beforeAll(async () => {
  t = await makeTestHome();
  const bottle = await makeSupervisedBottle(t.home);
  await new ProposalQueue({ queueDir: bottle.queueDir, slug: bottle.slug }).submit(
    { kind: "egress-host", host: "api.example.test", port: null },
    `why: ${ALL_HOSTILE}`,
  );
  await appendAuditEntries(
    auditLogPath(t.home, "demo-7f3a"),
    [{ event: "proposed", id: "abcd1234", reason: ALL_HOSTILE }],
    () => new Date(),
  );
});
afterAll(async () => {
  await t.dispose();
});

function expectClean(text: string) {
  expect(rawControlsIn(text, { newline: true, tab: true })).toEqual([]);
}

describe("the built CLI's output", () => {
  it("supervise list and show: the agent's reason escaped, --json valid", async () => {
    const list = await t.runOk(["supervise", "list"]);
    expectClean(list.stdout + list.stderr);
    expect(list.stdout).toContain("why: a\\x1b[2J");
    const json = await t.runOk(["supervise", "list", "--json"]);
    expectClean(json.stdout);
    expect((JSON.parse(json.stdout) as { reason: string }[])[0]?.reason).toBe(
      `why: ${ALL_HOSTILE}`,
    );
  });

  it("audit show: each entry escaped", async () => {
    const r = await t.runOk(["audit", "show", "--slug", "demo-7f3a"]);
    expectClean(r.stdout + r.stderr);
    expect(r.stdout).toContain("a\\x1b[2J");
  });

  it("an error quoting a hostile setting is defused by the net", async () => {
    const r = await t.run(["list"], { CLAUDE_BOTTLE_HOME: "rel\x1b]0;pwned\x07\u202e" });
    expect(r.code).not.toBe(0);
    expectClean(r.stderr);
    expect(r.stderr).toContain('got "rel\\u001b]0;pwned\\u0007\\u202e"');
  });
});
