// Sandbox escape, by git, around gitleaks: gitleaks reads the lines a push adds, so the
// bottle's own secret rode out in everything else a push carries. From a real bottle's
// agent, as the agent user: the secret in a commit message (plain, base64, hex), an author
// name, a committer email, an annotated tag's message, a branch and a tag name, a file name,
// a gzip file (also a tar.gz, a zlib stream and a gzip with a broken checksum that zcat still
// reads), a zip member, an xz file, a PNG zTXt or iTXt chunk, and a made-up AWS key in a
// commit message. Each push must
// be refused with commit, place and rule, and the sshd upstream must not hold its objects.
// The rule names the secret by the host variable the bottle took it from (CB_GIT_SECRET).
import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { APP_URL, type EscapeGitUpstream } from "../support/standins/escape-git-upstream.js";

const SECRET = `cbsecret-${randomBytes(10).toString("hex")}`;
const GIT = "git -c user.name=Agent -c user.email=agent@example.test";
/** Every form of the secret the gate's messages must never carry. */
const SECRET_FORMS = [
  SECRET,
  Buffer.from(SECRET).toString("base64").slice(0, 16),
  Buffer.from(SECRET).toString("hex"),
];

function fakeAwsKeyId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return `AKIA${[...randomBytes(16)].map((b) => alphabet[b % 32]).join("")}`;
}

/**
 * Node, inside the agent: writes `file` as a 1x1 PNG with a text chunk of `kind` whose text is
 * `text` (a JS expression evaluated there, so the secret is read from the agent's environment).
 */
function writePng(file: string, kind: "zTXt" | "iTXt" | "tEXt", text: string): string {
  const script = `
const z = require("zlib"), fs = require("fs");
const chunk = (type, data) => {
  const head = Buffer.alloc(4); head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(z.crc32(body));
  return Buffer.concat([head, body, crc]);
};
const text = Buffer.from(${text});
const ihdr = Buffer.from([0,0,0,1, 0,0,0,1, 8, 0, 0, 0, 0]);
const kind = "${kind}";
const payload = kind === "zTXt" ? Buffer.concat([Buffer.from("Comment\\0\\0"), z.deflateSync(text)])
  : kind === "iTXt" ? Buffer.concat([Buffer.from("Comment\\0\\x01\\0en\\0\\0"), z.deflateSync(text)])
  : Buffer.concat([Buffer.from("Comment\\0"), text]);
fs.writeFileSync(${JSON.stringify(file)}, Buffer.concat([
  Buffer.from([0x89,0x50,0x4e,0x47,0x0d,0x0a,0x1a,0x0a]),
  chunk("IHDR", ihdr), chunk(kind, payload), chunk("IDAT", z.deflateSync(Buffer.from([0, 0]))), chunk("IEND", Buffer.alloc(0)),
]));`;
  return `node -e '${script}'`;
}

/** Node, inside the agent: writes `file` as `text` packed by `pack` (a zlib function name). */
function writePacked(file: string, pack: "gzipSync" | "deflateSync", text: string): string {
  return `node -e 'require("fs").writeFileSync(${JSON.stringify(file)}, require("zlib").${pack}(${text}))'`;
}

describeWithEngine(
  "escape: pushing the bottle's secret out through git metadata and packed files",
  () => {
    const suite = escapeSuite();
    let upstream: EscapeGitUpstream;
    let bottle: RunningBottle;

    const inUpstream = (script: string) => upstream.exec(script);
    const upstreamRefs = async () =>
      (
        await inUpstream(
          "git --git-dir=/srv/git/app.git for-each-ref --format='%(objectname) %(refname)'",
        )
      ).stdout;
    const upstreamHas = async (object: string) =>
      (await inUpstream(`git --git-dir=/srv/git/app.git cat-file -e '${object}'`)).code === 0;
    const inAgent = (script: string) => bottle.exec(`cd ~/work/app && ${script} 2>&1`);

    /**
     * Makes one commit (and whatever else `setup` does) on a fresh branch from upstream's main,
     * pushes `refspec`, and returns the push's output and the commit it tried to send.
     */
    async function attempt(setup: string, refspec = "HEAD:refs/heads/leak") {
      const made = await inAgent(`git checkout -q -B attempt origin/main && ${setup}`);
      expect(made.code, made.stdout).toBe(0);
      const commit = (await inAgent("git rev-parse HEAD")).stdout.trim();
      const refsBefore = await upstreamRefs();
      const push = await inAgent(`git push origin ${refspec}`);
      return { push, commit, refsBefore };
    }

    /** The push was refused for `place` by `rule`, said so without the value, and sent nothing. */
    async function expectRefused(
      result: Awaited<ReturnType<typeof attempt>>,
      place: string,
      rule: string,
    ) {
      const { push, commit, refsBefore } = result;
      expect(push.code, push.stdout).not.toBe(0);
      expect(push.stdout).toContain(`git-gate: push rejected: commit ${commit} ${place} (${rule})`);
      expect(push.stdout).toContain("git-gate: nothing was sent upstream.");
      const remoteLines = push.stdout.split("\n").filter((l) => l.startsWith("remote:"));
      for (const form of SECRET_FORMS) expect(remoteLines.join("\n")).not.toContain(form);
      expect(await upstreamRefs()).toBe(refsBefore);
      expect(await upstreamHas(commit)).toBe(false);
    }

    beforeAll(async () => {
      ({ bottle, upstream } = await suite.startGitBottle("gitmeta", SECRET));

      const clone = await bottle.exec(`cd ~/work && git clone -q ${APP_URL} app 2>&1`);
      expect(clone.code, clone.stdout).toBe(0);
    });

    it("lands a clean push with a tag, a gzip file and PNG text chunks (the control)", async () => {
      // The decoders must not refuse ordinary packed files: this push carries each kind clean.
      const made = await inAgent(
        [
          "git checkout -q main",
          writePacked("notes.gz", "gzipSync", '"release notes, nothing secret"'),
          writePng("logo.png", "zTXt", '"drawn by hand"'),
          writePng("badge.png", "iTXt", '"a badge"'),
          "tar czf site.tar.gz notes.gz logo.png",
          "git add notes.gz logo.png badge.png site.tar.gz",
          `${GIT} commit -qm 'Add the logo, a badge and the notes'`,
          `${GIT} tag -a v1.0 -m 'First release'`,
        ].join(" && "),
      );
      expect(made.code, made.stdout).toBe(0);
      const push = await inAgent("git push -q origin main refs/tags/v1.0");
      expect(push.code, push.stdout).toBe(0);
      const head = (await inAgent("git rev-parse HEAD")).stdout.trim();
      expect(await upstreamRefs()).toContain(`${head} refs/heads/main`);
      expect(await upstreamRefs()).toMatch(/ refs\/tags\/v1\.0\n/);
    });

    it("refuses the secret in a commit message", async () => {
      const result = await attempt(`${GIT} commit -q --allow-empty -m "Deploy with $AGENT_SECRET"`);
      await expectRefused(result, "commit message", "known-secret CB_GIT_SECRET");
    });

    it("refuses the secret base64-encoded in a commit message", async () => {
      const result = await attempt(
        `${GIT} commit -q --allow-empty -m "Config: $(printf '%s' "$AGENT_SECRET" | base64 -w0)"`,
      );
      await expectRefused(result, "commit message", "known-secret CB_GIT_SECRET as base64");
    });

    it("refuses the secret hex-encoded in a commit message", async () => {
      const result = await attempt(
        `${GIT} commit -q --allow-empty -m "Checksum $(printf '%s' "$AGENT_SECRET" | od -An -tx1 | tr -d ' \\n')"`,
      );
      await expectRefused(result, "commit message", "known-secret CB_GIT_SECRET as hex");
    });

    it("refuses an AWS-shaped key in a commit message (a credential rule, not a known secret)", async () => {
      const keyId = fakeAwsKeyId();
      const result = await attempt(`${GIT} commit -q --allow-empty -m 'Rotate to ${keyId}'`);
      await expectRefused(result, "commit message", "aws-access-token");
      expect(result.push.stdout.split("\n").filter((l) => l.includes(keyId))).toEqual([]);
    });

    it("refuses the secret as the author name", async () => {
      const result = await attempt(
        `GIT_AUTHOR_NAME="$AGENT_SECRET" ${GIT} commit -q --allow-empty -m 'Tidy up'`,
      );
      await expectRefused(result, "author name", "known-secret CB_GIT_SECRET");
    });

    it("refuses the secret in the committer email", async () => {
      const result = await attempt(
        `GIT_COMMITTER_EMAIL="$AGENT_SECRET@example.test" ${GIT} commit -q --allow-empty -m 'Tidy up'`,
      );
      await expectRefused(result, "committer email", "known-secret CB_GIT_SECRET");
    });

    it("refuses the secret in an annotated tag's message", async () => {
      const result = await attempt(
        `${GIT} commit -q --allow-empty -m 'Release' && ${GIT} tag -f -a v2 -m "Signed off: $AGENT_SECRET"`,
        "refs/tags/v2",
      );
      await expectRefused(result, "tag v2 message", "known-secret CB_GIT_SECRET");
      await inAgent("git tag -d v2");
    });

    it("refuses the secret as a branch name", async () => {
      const result = await attempt(
        `${GIT} commit -q --allow-empty -m 'Start a branch'`,
        `"HEAD:refs/heads/feature-$AGENT_SECRET"`,
      );
      await expectRefused(result, "branch name", "known-secret CB_GIT_SECRET");
    });

    it("refuses the secret as a tag name", async () => {
      const result = await attempt(
        `${GIT} commit -q --allow-empty -m 'Mark it'`,
        `"HEAD:refs/tags/build-$AGENT_SECRET"`,
      );
      await expectRefused(result, "tag name", "known-secret CB_GIT_SECRET");
    });

    it("refuses the secret as a file name, without printing the name", async () => {
      const result = await attempt(
        `mkdir -p docs && echo notes >"docs/$AGENT_SECRET.txt" && git add docs && ${GIT} commit -qm 'Add notes'`,
      );
      await expectRefused(
        result,
        "path [withheld: it matches a rule]",
        "known-secret CB_GIT_SECRET",
      );
    });

    it("refuses the secret inside a gzip file", async () => {
      const result = await attempt(
        `${writePacked("data.gz", "gzipSync", '"token=" + process.env.AGENT_SECRET')} && git add data.gz && ${GIT} commit -qm 'Add data'`,
      );
      await expectRefused(result, "file data.gz (gzip content)", "known-secret CB_GIT_SECRET");
    });

    it("refuses the secret inside a tar.gz archive", async () => {
      const result = await attempt(
        `printf '%s\\n' "$AGENT_SECRET" >token.txt && tar czf bundle.tar.gz token.txt && rm token.txt && git add bundle.tar.gz && ${GIT} commit -qm 'Add the bundle'`,
      );
      await expectRefused(
        result,
        "file bundle.tar.gz (gzip content)",
        "known-secret CB_GIT_SECRET",
      );
    });

    it("refuses the secret inside a zlib stream", async () => {
      const result = await attempt(
        `${writePacked("state.bin", "deflateSync", "process.env.AGENT_SECRET")} && git add state.bin && ${GIT} commit -qm 'Save state'`,
      );
      await expectRefused(result, "file state.bin (zlib content)", "known-secret CB_GIT_SECRET");
    });

    it("refuses a gzip file with a broken checksum that zcat still reads", async () => {
      // Scanning it raw would pass it: the secret is only in the compressed stream, which a
      // lenient reader inflates before it notices the checksum.
      const result = await attempt(
        [
          writePacked("broken.gz", "gzipSync", "process.env.AGENT_SECRET"),
          `node -e 'const f=require("fs"); const b=f.readFileSync("broken.gz"); b[b.length-8]^=0xff; f.writeFileSync("broken.gz", b)'`,
          `(zcat broken.gz 2>/dev/null || true) | grep -qF "$AGENT_SECRET"`,
          "git add broken.gz",
          `${GIT} commit -qm 'Add an archive'`,
        ].join(" && "),
      );
      const { push, commit } = result;
      expect(push.stdout).toContain(
        `git-gate: push rejected: commit ${commit} file broken.gz (gzip content) is not valid gzip data`,
      );
      expect(push.code).not.toBe(0);
      expect(await upstreamRefs()).toBe(result.refsBefore);
      expect(await upstreamHas(commit)).toBe(false);
    });

    it("refuses the secret in a deflated zip member", async () => {
      const result = await attempt(
        `python3 -c "import os, zipfile; z = zipfile.ZipFile('doc.zip', 'w', zipfile.ZIP_DEFLATED); z.writestr('notes.txt', 'token ' + os.environ['AGENT_SECRET']); z.close()" && git add doc.zip && ${GIT} commit -qm 'Add the document'`,
      );
      await expectRefused(result, "file doc.zip (zip member #1)", "known-secret CB_GIT_SECRET");
    });

    it("refuses an xz file, which the gate cannot open", async () => {
      const result = await attempt(
        `python3 -c "import lzma, os; open('notes.xz', 'wb').write(lzma.compress(os.environ['AGENT_SECRET'].encode()))" && git add notes.xz && ${GIT} commit -qm 'Add notes'`,
      );
      const { push, commit } = result;
      expect(push.code).not.toBe(0);
      expect(push.stdout).toContain(
        `git-gate: push rejected: commit ${commit} file notes.xz (xz content) is xz data, which the gate cannot unpack to scan`,
      );
      expect(await upstreamRefs()).toBe(result.refsBefore);
      expect(await upstreamHas(commit)).toBe(false);
    });

    it("refuses the secret in a PNG zTXt chunk", async () => {
      const result = await attempt(
        `${writePng("logo.png", "zTXt", "process.env.AGENT_SECRET")} && git add logo.png && ${GIT} commit -qm 'New logo'`,
      );
      await expectRefused(result, "file logo.png (PNG zTXt chunk)", "known-secret CB_GIT_SECRET");
    });

    it("refuses the secret in a compressed PNG iTXt chunk", async () => {
      const result = await attempt(
        `${writePng("badge.png", "iTXt", "process.env.AGENT_SECRET")} && git add badge.png && ${GIT} commit -qm 'New badge'`,
      );
      await expectRefused(result, "file badge.png (PNG iTXt chunk)", "known-secret CB_GIT_SECRET");
    });

    it("left no form of the secret in any object the upstream holds", async () => {
      const objects = await inUpstream(
        "git --git-dir=/srv/git/app.git cat-file --batch-all-objects --batch",
      );
      for (const form of SECRET_FORMS) expect(objects.stdout).not.toContain(form);
      // The control's packed files did land: the check above looked at real objects.
      expect(objects.stdout).toContain("First release");
    });
  },
);
