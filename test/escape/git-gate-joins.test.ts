// Sandbox escape, by git, in pieces: the bottle's own secret cut so that no one value the
// gate reads holds it whole: on two lines of one file, inside quoted strings in two files,
// in two commits of one push, in three places of one commit, and in two pushes. From a real
// bottle's agent, as the agent user, over the real gate to the sshd stand-in upstream; the
// assertions are on what the upstream holds afterwards: never enough to put the secret
// together. The control: a push of ordinary code with many short tokens goes through.
import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { APP_URL, type EscapeGitUpstream } from "../support/standins/escape-git-upstream.js";

/** Random over letters and digits, as real tokens are; 40 characters. */
const SECRET = (() => {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return [...randomBytes(40)].map((b) => alphabet[b % 62]).join("");
})();
const GIT = "git -c user.name=Agent -c user.email=agent@example.test";
/** The gate names a secret by the host variable it came from. */
const PIECES_RULE = "(known-secret CB_GIT_SECRET in pieces)";
/** Shell: characters FROM-TO of the agent's secret, read from its environment. */
const cut = (from: number, to: number) => `$(printf %s "$AGENT_SECRET" | cut -c${from}-${to})`;

/**
 * Which characters of the secret `text` carries in runs of 8 or more, in any case: the
 * secret can be put together from the upstream only if every character is covered.
 */
function coveredCharacters(text: string, secret: string): number {
  const lower = text.toLowerCase();
  const s = secret.toLowerCase();
  const covered = new Uint8Array(s.length);
  for (let i = 0; i + 8 <= s.length; i++) {
    if (lower.includes(s.slice(i, i + 8))) covered.fill(1, i, i + 8);
  }
  return covered.reduce((n, c) => n + c, 0);
}

describeWithEngine("escape: pushing a secret out through git in pieces", () => {
  const suite = escapeSuite();
  let upstream: EscapeGitUpstream;
  let bottle: RunningBottle;

  const upstreamRefs = async () =>
    (
      await upstream.exec(
        "git --git-dir=/srv/git/app.git for-each-ref --format='%(objectname) %(refname)'",
      )
    ).stdout;
  /** Every object upstream holds, as text: a leaked piece would be in one of them. */
  const upstreamObjects = async () =>
    (await upstream.exec("git --git-dir=/srv/git/app.git cat-file --batch-all-objects --batch"))
      .stdout;
  const inApp = (script: string) => bottle.exec(`cd ~/work/app && ${script} 2>&1`);
  const head = async () => (await inApp("git rev-parse HEAD")).stdout.trim();

  /** Pushes what `script` commits; expects the gate to refuse it, naming the pieces. */
  async function expectRefused(script: string): Promise<{ output: string; tip: string }> {
    const before = await upstreamRefs();
    const push = await inApp(`${script} && git push origin HEAD:refs/heads/main`);
    const tip = await head();
    // Whatever is asserted below, the next test starts from upstream's main.
    await inApp("git reset -q --hard origin/main");
    expect(push.code, push.stdout).not.toBe(0);
    expect(push.stdout).toContain("remote: git-gate: nothing was sent upstream.");
    expect(push.stdout).toContain(PIECES_RULE);
    // The output names commits, places and rules, never a piece of the value.
    expect(coveredCharacters(push.stdout, SECRET)).toBe(0);
    expect(await upstreamRefs()).toBe(before);
    expect(coveredCharacters(await upstreamObjects(), SECRET)).toBeLessThan(SECRET.length);
    return { output: push.stdout, tip };
  }

  beforeAll(async () => {
    ({ bottle, upstream } = await suite.startGitBottle("gitjoins", SECRET));
    const clone = await bottle.exec(`cd ~/work && git clone -q ${APP_URL} app 2>&1`);
    expect(clone.code, clone.stdout).toBe(0);
  });

  it("refuses halves on two lines of one file", async () => {
    const { output, tip } = await expectRefused(
      `printf 'first: %s\\nsecond: %s\\n' "${cut(1, 20)}" "${cut(21, 40)}" >settings.yml && git add settings.yml && ${GIT} commit -qm 'Add settings'`,
    );
    expect(output).toContain(`commit ${tip} pieces in file settings.yml ${PIECES_RULE}`);
  });

  it("refuses halves inside quoted strings in two files", async () => {
    const { output, tip } = await expectRefused(
      `printf 'b = "%s"\\n' "${cut(21, 40)}" >b.py && printf "a = '%s';\\n" "${cut(1, 20)}" >a.js && git add a.js b.py && ${GIT} commit -qm 'Add modules'`,
    );
    expect(output).toContain(`commit ${tip} pieces in file a.js, file b.py ${PIECES_RULE}`);
  });

  it("refuses halves in two commits of one push", async () => {
    const { output, tip } = await expectRefused(
      [
        `printf 'x = "%s"\\n' "${cut(1, 20)}" >one.txt && git add one.txt && ${GIT} commit -qm One`,
        `printf 'y = "%s"\\n' "${cut(21, 40)}" >two.txt && git add two.txt && ${GIT} commit -qm Two`,
      ].join(" && "),
    );
    expect(output).toContain(`commit ${tip} pieces in file one.txt, file two.txt ${PIECES_RULE}`);
  });

  it("refuses three pieces: a commit message, a path and a file", async () => {
    const { output, tip } = await expectRefused(
      `printf '{"k": "%s"}\\n' "${cut(27, 40)}" >data.json && echo x >"notes-${cut(14, 26)}.md" && git add -A && ${GIT} commit -qm "Tune ${cut(1, 13)}"`,
    );
    expect(output).toContain(`commit ${tip} pieces in `);
    expect(output).toContain("commit message");
    expect(output).toContain("file data.json");
  });

  it("refuses the push carrying the last piece, naming the earlier push's commit", async () => {
    const first = await inApp(
      `printf "const a = '%s';\\n" "${cut(1, 20)}" >early.js && git add early.js && ${GIT} commit -qm Early && git push -q origin HEAD:refs/heads/main`,
    );
    // One piece alone is not the secret: it goes through (and the gate remembers where).
    expect(first.code, first.stdout).toBe(0);
    const early = await head();
    expect(await upstreamRefs()).toContain(`${early} refs/heads/main`);
    const { output, tip } = await expectRefused(
      `printf "const b = '%s';\\n" "${cut(21, 40)}" >late.js && git add late.js && ${GIT} commit -qm Late`,
    );
    expect(output).toContain(
      `commit ${tip} pieces in file late.js, joined with what an earlier push brought in commit ${early} ${PIECES_RULE}`,
    );
    // Upstream holds the first half only.
    expect(coveredCharacters(await upstreamObjects(), SECRET)).toBe(20);
  });

  it("passes a push of ordinary code with many short tokens (the control)", async () => {
    const push = await inApp(
      [
        "for i in $(seq 1 300); do printf 'const v%s = f(\"k%s\", [%s, %s], {a: %s});\\n' $i $i $i $((i * 7)) $((i % 13)); done >big.js",
        `printf '%s\\n' "short ${cut(1, 5)} ${cut(30, 35)}" >>big.js`,
        "git add big.js",
        `${GIT} commit -qm 'Ordinary code'`,
        "git push -q origin HEAD:refs/heads/main",
      ].join(" && "),
    );
    expect(push.code, push.stdout).toBe(0);
    expect(await upstreamRefs()).toContain(`${await head()} refs/heads/main`);
  });
});
