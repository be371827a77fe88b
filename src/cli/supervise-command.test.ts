// `supervise` run in-process against a real queue on disk, filled with what a hostile agent
// can put there: every line it prints must hold no raw control, bidi or invisible character.
import { writeFile } from "node:fs/promises";
import { beforeEach, describe, expect, it } from "vitest";
import { capturedIo } from "../../test/support/cli/captured-io.js";
import {
  ALL_HOSTILE,
  HOSTILE_TEXT,
  rawControlsIn,
} from "../../test/support/fixtures/hostile-text.js";
import { RecordingDocker } from "../../test/support/sidecars/supervise-fixture.js";
import { type ContextChanges, contextWith, runCliWith } from "../../test/support/unit/run-cli.js";
import { makeSupervisedQueue } from "../../test/support/unit/supervised-queue.js";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import type { SupervisedBottle } from "../approval/supervised-bottle.js";
import { answerPath, proposalPath, toJsonText } from "../shared/queue-files.js";
import type { ProposalQueue } from "../sidecars/supervise/proposal-queue.js";
import { reviewInteractively } from "./supervise-command.js";

const home = tempDirPerTest("cb-supervise-cli-");
let bottle: SupervisedBottle;
let queue: ProposalQueue;

beforeEach(async () => {
  ({ bottle, queue } = await makeSupervisedQueue(home()));
});

const changes = (): ContextChanges => ({
  docker: new RecordingDocker(),
  env: { HOME: home(), CLAUDE_BOTTLE_HOME: home() },
  stdinIsTty: false,
  now: () => new Date("2030-01-01T12:00:00.000Z"),
});

function run(...argv: string[]) {
  return runCliWith(changes(), ...argv);
}

/** Runs a command that must succeed, and checks that it printed only escaped text. */
async function runClean(argv: string[], allow: { tab?: boolean } = {}) {
  const r = await run(...argv);
  expect(r.code).toBe(0);
  expectClean(r.stdout, allow);
  expectClean(r.stderr);
  return r;
}

/** A pending proposal whose reason is the whole hostile corpus; its id. */
async function hostileProposal(): Promise<string> {
  const { proposal } = await queue.submit(
    { kind: "egress-host", host: "api.example.test", port: null },
    `why: ${ALL_HOSTILE}\nsecond line\twith a tab`,
  );
  return proposal.id;
}

function expectClean(text: string, allow: { newline?: boolean; tab?: boolean } = {}) {
  expect(rawControlsIn(text, { newline: true, ...allow })).toEqual([]);
}

describe("supervise output holds no raw control character", () => {
  it("list: the reason is shown escaped in its column", async () => {
    await hostileProposal();
    const r = await runClean(["supervise", "list"]);
    expect(r.stdout).toContain("why: a\\x1b[2J\\x1b[Hb|");
  });

  it("show: every line of the reason, escaped, newlines kept", async () => {
    const id = await hostileProposal();
    const r = await runClean(["supervise", "show", id], { tab: true });
    expect(r.stdout).toContain("fix\\u202etxt.exe");
    expect(r.stdout).toContain("\n          second line\twith a tab");
  });

  it("show: an answer's decider, reason and changes, escaped", async () => {
    const id = await hostileProposal();
    await writeFile(
      answerPath(bottle.queueDir, id),
      toJsonText({
        version: 1,
        id,
        decision: "denied",
        reason: `no ${HOSTILE_TEXT["OSC window title with BEL"]}`,
        by: `mallory${HOSTILE_TEXT["RLO display spoof"]}`,
        decidedAt: "2030-01-01T11:00:00.000Z",
        changes: Object.values(HOSTILE_TEXT),
      }),
    );
    const r = await runClean(["supervise", "show", id], { tab: true });
    expect(r.stdout).toContain("by malloryfix\\u202etxt.exe");
    expect(r.stdout).toContain("no x\\x1b]0;pwned\\x07y");
  });

  it("--json: valid JSON of the same text, with every control escaped", async () => {
    const id = await hostileProposal();
    for (const argv of [
      ["supervise", "list", "--json"],
      ["supervise", "show", id, "--json"],
    ]) {
      const r = await runClean(argv);
      const parsed = JSON.parse(r.stdout) as { reason: string } | { reason: string }[];
      const view = Array.isArray(parsed) ? parsed[0] : parsed;
      expect(view?.reason).toBe(`why: ${ALL_HOSTILE}\nsecond line\twith a tab`.trim());
    }
  });

  it("a queue file that does not validate is reported escaped, and skipped", async () => {
    await writeFile(
      proposalPath(bottle.queueDir, "abcd1234"),
      `{"version":1,"id":"abcd1234","slug":"${bottle.slug}","x\u001b]0;t\u0007":"\u202e"}`,
    );
    await writeFile(proposalPath(bottle.queueDir, "abcd1235"), `not json \x1b[2J\u202e\n`);
    const r = await run("supervise", "list");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: skipped");
    expect(r.stderr).toContain("abcd1235.json");
    expectClean(r.stderr);
  });

  it("a prefix the user typed is shown escaped in the error", async () => {
    const r = await run("supervise", "show", "zz\x1b]0;t\x07");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no proposal "zz\\x1b]0;t\\x07"');
    expectClean(r.stderr);
  });

  it("deny without a reason suggests a command that pastes as the same id", async () => {
    const r = await run("supervise", "deny", "a$(id)b");
    expect(r.stderr).toContain("hint: claude-bottle supervise deny 'a$(id)b' --reason");
  });

  it("the interactive review shows the table and the details escaped", async () => {
    const id = await hostileProposal();
    const c = capturedIo();
    const answers = ["1", "x", "q"];
    await reviewInteractively(contextWith(changes())(c.io), async () => answers.shift() ?? null);
    expect(c.stdout()).toContain(id);
    expect(c.stdout()).toContain("fix\\u202etxt.exe");
    expectClean(c.stdout(), { tab: true });
    expectClean(c.stderr());
  });
});
