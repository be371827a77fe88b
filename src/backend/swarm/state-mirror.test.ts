import { lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tarBytes } from "../../../test/support/fixtures/tarball-fixture.js";
import { tempDirPerTest } from "../../../test/support/unit/temp-dir.js";
import type { BottleVolume } from "../../core/swarm-stack.js";
import { onNodeMarkPath, pullProposals, waitUntilOnNode } from "./state-mirror.js";
import { EngineAt } from "./swarm-engines.js";

const dir = tempDirPerTest("cb-mirror-");

/** The mark the mirror writes for a file it pushed: its mtime and size. */
async function markOf(path: string): Promise<string> {
  const s = await stat(path);
  return `${s.mtimeMs}:${s.size}`;
}

describe("waitUntilOnNode", () => {
  it("returns once the mirror's mark names the file's current version", async () => {
    const policy = join(dir(), "pipelock.yaml");
    await writeFile(policy, "allow: [a.test]\n");
    await writeFile(onNodeMarkPath(policy), "0:1");
    const waiting = waitUntilOnNode(policy, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(onNodeMarkPath(policy), await markOf(policy));
    expect(await waiting).toBe(true);
  });

  it("says false when no mirror takes the change there in time", async () => {
    const policy = join(dir(), "pipelock.yaml");
    await writeFile(policy, "allow: [a.test]\n");
    await writeFile(onNodeMarkPath(policy), await markOf(policy));
    await writeFile(policy, "allow: [a.test, b.test]\n");
    expect(await waitUntilOnNode(policy, 300)).toBe(false);
  });

  it("compares a directory by every file in it", async () => {
    const allow = join(dir(), "allow");
    await mkdir(allow);
    await writeFile(join(allow, "gitleaks.txt"), "fp\n");
    const mark = `gitleaks.txt=${await markOf(join(allow, "gitleaks.txt"))}`;
    await writeFile(onNodeMarkPath(allow), mark);
    expect(await waitUntilOnNode(allow, 300)).toBe(true);
    await writeFile(join(allow, "more.txt"), "x\n");
    expect(await waitUntilOnNode(allow, 300)).toBe(false);
  });
});

describe("pullProposals", () => {
  const id = "p0123456789abcdef";
  const volume = (source: string): BottleVolume => ({
    key: "queue",
    name: "cb-x-queue",
    target: "/queue",
    file: null,
    mount: {
      service: "supervise",
      source,
      target: "/queue",
      kind: "live",
      secret: false,
      writable: true,
      fromUser: false,
      directory: true,
      executable: false,
    },
  });

  /** A node whose `docker cp … -` streams `archive`, as the keeper's volume would. */
  const nodeStreaming = (archive: Buffer) =>
    new EngineAt(
      {
        async run(_args, options = {}) {
          async function* stream() {
            yield archive;
          }
          await options.stdoutTo?.(stream());
          return { exitCode: 0, stdout: "", stderr: "" };
        },
      },
      null,
    );

  it("takes proposal files only, and replaces a link standing at a name without following it", async () => {
    const queue = join(dir(), "queue");
    await mkdir(join(queue, "proposals"), { recursive: true });
    const outside = join(dir(), "host-file");
    await writeFile(outside, "host content");
    await symlink(outside, join(queue, "proposals", `${id}.json`));
    const archive = tarBytes([
      { name: "./", type: "5" },
      { name: `./${id}.json`, content: '{"id":"x"}' },
      { name: "./p-link.json", type: "2", linkname: "/etc/shadow" },
      { name: "./notes.txt", content: "not a proposal" },
      { name: "./sub/", type: "5" },
      { name: "./sub/p-deep.json", content: "{}" },
    ]);
    await pullProposals({ node: nodeStreaming(archive), keeper: "keeper" }, [volume(queue)]);
    expect(await readdir(join(queue, "proposals"))).toEqual([`${id}.json`]);
    expect((await lstat(join(queue, "proposals", `${id}.json`))).isFile()).toBe(true);
    expect(await readFile(join(queue, "proposals", `${id}.json`), "utf8")).toBe('{"id":"x"}');
    expect(await readFile(outside, "utf8")).toBe("host content");
  });

  it("refuses a stream past its bound and writes nothing", async () => {
    const queue = join(dir(), "queue");
    await mkdir(join(queue, "proposals"), { recursive: true });
    const archive = tarBytes([{ name: `./${id}.json`, content: Buffer.alloc(65 * 1024 * 1024) }]);
    await expect(
      pullProposals({ node: nodeStreaming(archive), keeper: "keeper" }, [volume(queue)]),
    ).rejects.toThrow(/bytes/);
    expect(await readdir(join(queue, "proposals"))).toEqual([]);
  });
});
