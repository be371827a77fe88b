// git-gate's verdicts in the dashboard's decision stream, from a real bottle with an sshd
// upstream: a clean push shows as forwarded, a push of an AWS-shaped key as rejected by
// gitleaks with its count of findings, and a push of the bottle's own secret in a commit
// message as rejected by the push scan. The stream never carries the secret or the key,
// in any spelling, nor the branch names the agent chose.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { TestHome } from "../support/cli/cli-process.js";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { APP_URL } from "../support/standins/escape-git-upstream.js";
import { startDashboard } from "./dashboard-process.js";

const SECRET = `cbsecret-${randomBytes(10).toString("hex")}`;
const GIT = "git -c user.name=Agent -c user.email=agent@example.test";

function fakeAwsKey(): { keyId: string; secret: string } {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return {
    keyId: `AKIA${[...randomBytes(16)].map((b) => alphabet[b % 32]).join("")}`,
    secret: randomBytes(30).toString("base64"),
  };
}

interface StreamedDecision {
  seq: number;
  slug: string;
  source: string;
  kind: string;
  verdict: string;
  rule: string | null;
  place: string | null;
  host: string | null;
}

describeWithEngine("git-gate verdicts in the dashboard's stream", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let dashboard: ReturnType<TestHome["spawn"]>;
  let streamed = "";
  let stopStream: () => void = () => {};

  const inAgent = (script: string) => bottle.exec(`cd ~/work/app && ${script} 2>&1`);
  const decisions = (): StreamedDecision[] =>
    streamed
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .flatMap((l) => JSON.parse(l.slice(6)) as StreamedDecision[]);
  async function verdictAfter(seq: number): Promise<StreamedDecision> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const found = decisions().find((d) => d.source === "git-gate" && d.seq > seq);
      if (found !== undefined) return found;
      await sleep(100);
    }
    throw new Error(`no git-gate verdict in the stream:\n${streamed.slice(-2000)}`);
  }
  const lastSeq = () => decisions().at(-1)?.seq ?? 0;

  beforeAll(async () => {
    ({ bottle } = await suite.startGitBottle("gitwatch", SECRET));
    const clone = await bottle.exec(`cd ~/work && git clone -q ${APP_URL} app 2>&1`);
    expect(clone.code, clone.stdout).toBe(0);

    const started = await startDashboard(suite.home);
    dashboard = started.process;
    const { origin, token } = started;
    const session = await fetch(`${origin}/api/session`, {
      method: "POST",
      headers: { origin, "x-dashboard-token": token },
    });
    expect(session.status).toBe(200);
    const cookie = (session.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const abort = new AbortController();
    stopStream = () => abort.abort();
    const events = await fetch(`${origin}/api/events`, {
      headers: { cookie },
      signal: abort.signal,
    });
    expect(events.status).toBe(200);
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) {
          streamed += decoder.decode(chunk, { stream: true });
        }
      } catch {
        // aborted at the end
      }
    })();
    // The dashboard follows the gate once it has looked the bottle up: wait until it runs
    // `docker logs --follow` on the gate's container, not a fixed time.
    const gate = bottle.containerOf("git-gate");
    const following = () =>
      execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
        .split("\n")
        .some((l) => l.includes("logs --follow") && l.trimEnd().endsWith(` ${gate}`));
    const deadline = Date.now() + 60_000;
    while (!following()) {
      if (Date.now() > deadline) throw new Error(`the dashboard never followed ${gate}`);
      await sleep(200);
    }
  });

  afterAll(async () => {
    stopStream();
    dashboard?.kill("SIGTERM");
  });

  it("shows a clean push as forwarded", async () => {
    const before = lastSeq();
    const push = await inAgent(
      `git checkout -q main && echo hello > hello.txt && git add hello.txt && ${GIT} commit -qm 'Add hello' && git push -q origin main`,
    );
    expect(push.code, push.stdout).toBe(0);
    expect(await verdictAfter(before)).toMatchObject({
      slug: bottle.slug,
      source: "git-gate",
      kind: "allow",
      verdict: "forwarded",
      rule: "clean",
      host: "app",
    });
  });

  it("shows gitleaks' rejection with its count, and never the key", async () => {
    const before = lastSeq();
    const key = fakeAwsKey();
    const push = await inAgent(
      [
        "git checkout -q -B leak-branch-name-xyz origin/main",
        `printf 'aws_access_key_id = ${key.keyId}\\naws_secret_access_key = ${key.secret}\\n' > creds.ini`,
        "git add creds.ini",
        `${GIT} commit -qm 'Add credentials'`,
        "git push origin HEAD:refs/heads/leak-branch-name-xyz",
      ].join(" && "),
    );
    expect(push.code, push.stdout).not.toBe(0);
    const verdict = await verdictAfter(before);
    expect(verdict).toMatchObject({ kind: "dlp", verdict: "rejected", rule: "gitleaks" });
    expect(verdict.place).toMatch(/^\d+ findings?$/);
    for (const form of [key.keyId, key.secret, key.secret.slice(0, 12), "leak-branch-name-xyz"]) {
      expect(streamed).not.toContain(form);
    }
  });

  it("shows the push scan's rejection of the bottle's secret, and never the secret", async () => {
    const before = lastSeq();
    const push = await inAgent(
      `git checkout -q -B attempt origin/main && ${GIT} commit -q --allow-empty -m "Deploy with $AGENT_SECRET" && git push origin HEAD:refs/heads/attempt`,
    );
    expect(push.code, push.stdout).not.toBe(0);
    expect(await verdictAfter(before)).toMatchObject({
      kind: "dlp",
      verdict: "rejected",
      rule: "push-scan",
      place: "1 finding",
    });
    for (const form of [
      SECRET,
      Buffer.from(SECRET).toString("base64").slice(0, 16),
      Buffer.from(SECRET).toString("hex"),
    ]) {
      expect(streamed).not.toContain(form);
    }
  });
});
