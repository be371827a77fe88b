// The push scan against real git repositories: a "gate" repository holding what upstream
// has, and a working clone whose new objects are fetched into the gate without a ref, as
// they sit in a push's quarantine while pre-receive runs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitRepository, openGitRepository } from "./git-repository.js";
import type { PiecesRecord } from "./joins.js";
import { DEFAULT_PUSH_SCAN_LIMITS, renderPushScanReport, scanPush } from "./push-scan.js";

const SECRET = "cbsecret-0123456789abcdef";
/** Random-looking, as real tokens are: its pieces are what the joins look for. */
const TOKEN = "Zq8vLm3TxR7pWc2NbK5yHd9fGs4jAe6u";
const SECRETS = [
  { name: "AGENT_SECRET", value: SECRET },
  { name: "AGENT_TOKEN", value: TOKEN },
];
const ZERO = "0".repeat(40);
/** Assembled here so no credential-shaped literal sits in the source. */
const AWS_KEY = ["AKIA", "ZQ3RT5Y7U2W4P6N8"].join("");

function pngWithZtxt(text: string): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type), data, Buffer.alloc(4)]);
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])),
    chunk("zTXt", Buffer.concat([Buffer.from("Comment\0\0"), deflateSync(text)])),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// Real git repositories and several scans per test: slow on a loaded machine.
describe("scanPush", { timeout: 30_000 }, () => {
  let root: string;
  let gate: string;
  let work: string;
  let repository: GitRepository;
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "Ada",
    GIT_AUTHOR_EMAIL: "ada@example.test",
    GIT_COMMITTER_NAME: "Ada",
    GIT_COMMITTER_EMAIL: "ada@example.test",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
  };
  const git = (cwd: string, args: string[], extra: Record<string, string> = {}) =>
    execFileSync("git", args, { cwd, env: { ...env, ...extra }, encoding: "utf8" }).trim();
  const write = (name: string, content: string | Buffer) =>
    writeFileSync(join(work, name), content);
  const commit = (message: string, extra: Record<string, string> = {}) => {
    git(work, ["add", "-A"]);
    git(work, ["commit", "-q", "--allow-empty", "-m", message], extra);
    return git(work, ["rev-parse", "HEAD"]);
  };

  /** Starts a new line of work from upstream's main. */
  const fresh = () => git(work, ["checkout", "-q", "-B", "attempt", "main"]);

  /** Brings `rev` into the gate with no ref (as a push's quarantine) and scans `ref` = rev. */
  async function scan(rev: string, ref = "refs/heads/attempt", limits = DEFAULT_PUSH_SCAN_LIMITS) {
    return renderPushScanReport(await scanReport(rev, ref, limits));
  }

  async function scanReport(
    rev: string,
    ref = "refs/heads/attempt",
    limits = DEFAULT_PUSH_SCAN_LIMITS,
    piecesRecord?: PiecesRecord,
  ) {
    git(gate, ["fetch", "-q", work, rev]);
    const newId = git(work, ["rev-parse", rev]);
    const report = await scanPush({
      updates: [{ oldId: ZERO, newId, ref }],
      repository,
      knownSecrets: SECRETS,
      limits,
      ...(piecesRecord === undefined ? {} : { piecesRecord }),
    });
    return report;
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "cb-push-scan-"));
    gate = join(root, "gate.git");
    work = join(root, "work");
    git(root, ["init", "-q", "-b", "main", work]);
    write("README", "hello\n");
    // Already upstream: a secret here is not this push's doing and must not be reported.
    write("old.txt", `${SECRET}\n`);
    commit(`Old history mentioning ${SECRET}`);
    git(root, ["clone", "-q", "--bare", work, gate]);
    repository = await openGitRepository(gate);
  });

  afterAll(() => {
    repository?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("passes a clean push carrying packed files, and what upstream already has", async () => {
    fresh();
    write("notes.gz", gzipSync("release notes"));
    write("logo.png", pngWithZtxt("drawn by hand"));
    commit("Add notes and a logo");
    expect(await scan("attempt")).toEqual([]);
  });

  it("names commit, place and rule for each field a person writes", async () => {
    fresh();
    const message = commit(`Deploy with ${SECRET}`);
    const author = commit("Tidy", { GIT_AUTHOR_NAME: SECRET });
    const email = commit("Tidy", { GIT_COMMITTER_EMAIL: `${SECRET}@example.test` });
    const base64 = commit(`Config ${Buffer.from(SECRET).toString("base64")}`);
    const hex = commit(`Sum ${Buffer.from(SECRET).toString("hex")}`);
    const aws = commit(`Rotate to ${AWS_KEY}`);
    expect(await scan("attempt")).toEqual([
      `commit ${aws} commit message (aws-access-token)`,
      `commit ${hex} commit message (known-secret AGENT_SECRET as hex)`,
      `commit ${base64} commit message (known-secret AGENT_SECRET as base64)`,
      `commit ${email} committer email (known-secret AGENT_SECRET)`,
      `commit ${author} author name (known-secret AGENT_SECRET)`,
      `commit ${message} commit message (known-secret AGENT_SECRET)`,
    ]);
  });

  it("reads annotated tags and ref names, withholding a name that matches", async () => {
    fresh();
    const clean = commit("Release");
    git(work, ["tag", "-f", "-a", "v1", "-m", `Notes ${SECRET}`]);
    expect(await scan("refs/tags/v1", "refs/tags/v1")).toEqual([
      `commit ${clean} tag v1 message (known-secret AGENT_SECRET)`,
    ]);
    git(work, ["tag", "-f", "-a", `t-${SECRET}`, "-m", "Fine"]);
    expect(await scan(`refs/tags/t-${SECRET}`, `refs/tags/t-${SECRET}`)).toEqual([
      `commit ${clean} tag name (known-secret AGENT_SECRET)`,
      `commit ${clean} tag [withheld: it matches a rule] name (known-secret AGENT_SECRET)`,
    ]);
    expect(
      await scan("attempt", `refs/heads/feature/${SECRET.slice(0, 9)}/${SECRET.slice(9)}`),
    ).toEqual([`commit ${clean} branch name (known-secret AGENT_SECRET)`]);
  });

  it("reads a ref name as the bytes git gave, not re-encoded", async () => {
    fresh();
    const id = commit("Fine");
    git(gate, ["fetch", "-q", work, "attempt"]);
    const secret = "cl\u00e9-secr\u00e8te-2024";
    const ref = Buffer.from(`refs/heads/${secret}`).toString("latin1");
    const report = await scanPush({
      updates: [{ oldId: ZERO, newId: id, ref }],
      repository,
      knownSecrets: [{ name: "ACCENTED", value: secret }],
    });
    expect(renderPushScanReport(report)).toEqual([
      `commit ${id} branch name (known-secret ACCENTED)`,
    ]);
  });

  it("reads every path the new commits add, renames included, and packed file contents", async () => {
    fresh();
    const renamed = (() => {
      git(work, ["mv", "README", `docs-${SECRET}`]);
      return commit("Move the readme");
    })();
    write("data.gz", gzipSync(`token=${SECRET}`));
    write("logo.png", pngWithZtxt(`key ${AWS_KEY}`));
    // Not the blob old.txt already holds upstream: that one is not new.
    write("plain.txt", `key: ${SECRET}\n`);
    // Credential rules on plain lines are gitleaks' (with its approved exceptions): not here.
    write("creds.txt", `aws_access_key_id = ${AWS_KEY}\n`);
    const files = commit("Add files");
    expect(await scan("attempt")).toEqual([
      `commit ${renamed} path [withheld: it matches a rule] (known-secret AGENT_SECRET)`,
      // The DLP engine inflates a gzip stream it meets in raw bytes too: two places, one file.
      `commit ${files} file data.gz (known-secret AGENT_SECRET)`,
      `commit ${files} file data.gz (gzip content) (known-secret AGENT_SECRET)`,
      `commit ${files} file logo.png (PNG zTXt chunk) (aws-access-token)`,
      `commit ${files} file plain.txt (known-secret AGENT_SECRET)`,
    ]);
  });

  it("reads the paths a merge brings", async () => {
    fresh();
    git(work, ["checkout", "-q", "-b", "side"]);
    write(`side-${SECRET}.txt`, "x\n");
    const side = commit("Side work");
    git(work, ["checkout", "-q", "attempt"]);
    commit("Main work");
    git(work, ["merge", "-q", "--no-edit", "side"]);
    git(work, ["branch", "-q", "-D", "side"]);
    expect(await scan("attempt")).toEqual([
      `commit ${side} path [withheld: it matches a rule] (known-secret AGENT_SECRET)`,
    ]);
  });

  it("reads a submodule's commit id, which the pusher chooses freely", async () => {
    fresh();
    const short = "cbsec-8b"; // 8 bytes: its hex form fits in one 40-digit id
    const id = `${Buffer.from(short).toString("hex")}${"0".repeat(24)}`;
    git(work, ["update-index", "--add", "--cacheinfo", `160000,${id},vendor/lib`]);
    git(work, ["commit", "-q", "-m", "Add a submodule"]);
    const added = git(work, ["rev-parse", "HEAD"]);
    git(gate, ["fetch", "-q", work, "attempt"]);
    const report = await scanPush({
      updates: [{ oldId: ZERO, newId: added, ref: "refs/heads/attempt" }],
      repository,
      knownSecrets: [{ name: "SHORT", value: short }],
    });
    expect(renderPushScanReport(report)).toEqual([
      `commit ${added} submodule vendor/lib commit id (known-secret SHORT as hex)`,
    ]);
  });

  it("refuses a file it cannot unpack or that is too large to scan", async () => {
    fresh();
    const broken = gzipSync("anything");
    broken[broken.length - 8] = (broken[broken.length - 8] as number) ^ 0xff;
    write("broken.gz", broken);
    write("big.bin", Buffer.alloc(4096, 1));
    const id = commit("Add two files");
    const limits = { ...DEFAULT_PUSH_SCAN_LIMITS, maxBlobBytes: 1024 };
    expect(await scan("attempt", "refs/heads/attempt", limits)).toEqual([
      `commit ${id} file big.bin is 4096 bytes, larger than the 1024 the gate scans`,
      `commit ${id} file broken.gz (gzip content) is not valid gzip data, so the gate cannot read what it holds`,
    ]);
  });

  describe("joins: a secret cut over lines, files, commits and pushes", () => {
    const half = TOKEN.length / 2;
    const [A, B] = [TOKEN.slice(0, half), TOKEN.slice(half)];
    const PIECES = "known-secret AGENT_TOKEN in pieces";

    it("refuses halves on two lines of one file, naming the file", async () => {
      fresh();
      write("config.txt", `first ${A}\nsecond ${B}\n`);
      const id = commit("Add config");
      const lines = await scan("attempt");
      expect(lines).toContain(`commit ${id} pieces in file config.txt (${PIECES})`);
      expect(lines.join("\n")).not.toContain(A);
    });

    it("refuses halves inside quoted strings in two files, in either order", async () => {
      fresh();
      write("a.py", `b = "${B}"\n`);
      write("b.py", `a = "${A}";\n`);
      const id = commit("Add two modules");
      expect(await scan("attempt")).toContain(
        `commit ${id} pieces in file a.py, file b.py (${PIECES})`,
      );
    });

    it("refuses halves in two commits of one push, naming the commit with the last", async () => {
      fresh();
      write("one.txt", `x=${A}\n`);
      commit("One");
      write("two.txt", `y=${B}\n`);
      const second = commit("Two");
      const lines = await scan("attempt");
      expect(lines).toContain(`commit ${second} pieces in file one.txt, file two.txt (${PIECES})`);
      expect(lines.join("\n")).not.toContain(A);
    });

    it("refuses three pieces in a message, a path and a file", async () => {
      fresh();
      const [p1, p2, p3] = [TOKEN.slice(0, 11), TOKEN.slice(11, 22), TOKEN.slice(22)];
      write(`notes-${p2}.md`, "x\n");
      write("data.json", `{"k": "${p3}"}\n`);
      const id = commit(`Tune ${p1}`);
      const lines = await scan("attempt");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^commit ${id} pieces in .*\\(${PIECES}\\)$`));
      expect(lines[0]).toContain("commit message");
      expect(lines[0]).toContain("file data.json");
      // The path carrying a piece is withheld, as a name matching a rule is.
      expect(lines[0]).toContain("path [withheld: it matches a rule]");
      expect(lines[0]).not.toContain(p2);
    });

    it("refuses pieces reversed or in hex, and in another case", async () => {
      fresh();
      write("r.txt", `${[...A].reverse().join("")}\n`);
      write("h.txt", `${Buffer.from(B).toString("hex").toUpperCase()}\n`);
      const id = commit("Odd forms");
      expect(await scan("attempt")).toContain(
        `commit ${id} pieces in file h.txt, file r.txt (${PIECES})`,
      );
    });

    it("refuses the push carrying the last piece, naming the earlier push's commit", async () => {
      fresh();
      write("early.txt", `const a = '${A}';\n`);
      const early = commit("Early");
      const before = await scanReport("attempt");
      expect(renderPushScanReport(before)).toEqual([]);
      // Positions and commits only, never a character of the secret.
      expect(JSON.stringify(before.piecesRecord)).not.toContain(A.slice(0, 6));
      expect(before.piecesRecord.secrets.AGENT_TOKEN?.ranges).toEqual([[0, half, early]]);
      // The gate forwarded it: upstream (the gate's refs) now has it.
      git(gate, ["update-ref", "refs/heads/early", early]);
      write("late.txt", `const b = '${B}';\n`);
      const late = commit("Late");
      const after = await scanReport(
        "attempt",
        "refs/heads/attempt",
        undefined,
        before.piecesRecord,
      );
      expect(renderPushScanReport(after)).toEqual([
        `commit ${late} pieces in file late.txt, joined with what an earlier push brought in commit ${early} (${PIECES})`,
      ]);
      // Without the record the second push alone is clean: the record is what refuses it.
      expect(await scan("attempt")).toEqual([]);
      git(gate, ["update-ref", "-d", "refs/heads/early"]);
    });

    it("finds a spelled secret cut at a line end in the joined text", async () => {
      fresh();
      const b64 = Buffer.from(TOKEN).toString("base64");
      write("blob.txt", `${b64.slice(0, 20)}\n${b64.slice(20)}\n`);
      const id = commit("Encoded");
      expect(await scan("attempt")).toContain(
        `commit ${id} joined text (lines, files, messages and paths, in order) (known-secret AGENT_TOKEN as base64)`,
      );
    });

    it("passes ordinary code with many short tokens, and short fragments of the secret", async () => {
      fresh();
      const code = Array.from(
        { length: 400 },
        (_, i) => `const v${i} = f("${TOKEN.slice(i % 26, (i % 26) + 5)}", ${i}, x[${i}]);`,
      ).join("\n");
      write("big.ts", `${code}\n`);
      write("one-half.txt", `${A}\n`);
      commit("Ordinary code and one half");
      expect(await scan("attempt")).toEqual([]);
    });
  });

  it("scans nothing for a deletion", async () => {
    const report = await scanPush({
      updates: [
        { oldId: git(work, ["rev-parse", "main"]), newId: ZERO, ref: `refs/heads/${SECRET}` },
      ],
      repository,
      knownSecrets: SECRETS,
    });
    expect(renderPushScanReport(report)).toEqual([]);
  });
});
