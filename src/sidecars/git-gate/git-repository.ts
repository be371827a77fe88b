// The repository a push is arriving in, read through git itself (inside pre-receive, git's
// environment points at the quarantined objects). Object ids reach git as arguments only
// after they are checked to be ids; everything else goes through stdin.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { type DiffEntry, parseDiffTree } from "./git-objects.js";
import type { NewObject, PushRepository } from "./push-scan.js";

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const TYPES = new Set(["commit", "tag", "tree", "blob"]);

export interface GitRepository extends PushRepository {
  close(): void;
}

export async function openGitRepository(cwd: string = process.cwd()): Promise<GitRepository> {
  const format = (await git(cwd, ["rev-parse", "--show-object-format"])).toString("latin1").trim();
  const idBytes = format === "sha256" ? 32 : format === "sha1" ? 20 : 0;
  if (idBytes === 0) throw new Error(`unknown object format "${format.slice(0, 20)}"`);
  const reader = new ObjectReader(cwd);
  return {
    idBytes,
    close: () => reader.close(),
    read: (id) => reader.read(checkId(id)),
    async peelToCommit(id) {
      const out = await git(cwd, ["rev-parse", "--verify", "--quiet", `${checkId(id)}^{commit}`]);
      return checkId(out.toString("latin1").trim());
    },
    async newObjects(tips) {
      const ids = await git(cwd, [
        "rev-list",
        "--objects",
        "--no-object-names",
        ...tips.map(checkId),
        "--not",
        "--all",
      ]);
      if (ids.length === 0) return [];
      const listed = await git(
        cwd,
        ["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
        ids,
      );
      return listed
        .toString("latin1")
        .split("\n")
        .filter((l) => l !== "")
        .map((line): NewObject => {
          const [id = "", type = "", size = ""] = line.split(" ");
          if (!OBJECT_ID.test(id) || !TYPES.has(type) || !/^\d+$/.test(size)) {
            throw new Error("cat-file listed an object it could not describe");
          }
          return { id, type: type as NewObject["type"], size: Number(size) };
        });
    },
    async diffTree(commits): Promise<DiffEntry[]> {
      if (commits.length === 0) return [];
      const out = await git(
        cwd,
        [
          "diff-tree",
          "--stdin",
          "-r",
          "-m",
          "--root",
          "-z",
          "--raw",
          "--no-renames",
          "--full-index",
          "--ignore-submodules=none",
        ],
        Buffer.from(`${commits.map(checkId).join("\n")}\n`),
      );
      return parseDiffTree(out);
    },
  };
}

function checkId(id: string): string {
  if (!OBJECT_ID.test(id)) throw new Error("not an object id");
  return id;
}

/** Runs git to completion; a non-zero exit is an error carrying git's first stderr line. */
function git(cwd: string, args: readonly string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        const first = Buffer.concat(err).toString("utf8").split("\n")[0] ?? "";
        reject(
          new Error(
            `git ${args[0]} failed (exit ${code}): ${first.replace(/[^\x20-\x7e]/g, "?").slice(0, 200)}`,
          ),
        );
      }
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

/** One `git cat-file --batch` for the whole scan; one object in flight at a time. */
class ObjectReader {
  readonly #child: ChildProcessWithoutNullStreams;
  #chunks: Buffer[] = [];
  #length = 0;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(cwd: string) {
    this.#child = spawn("git", ["cat-file", "--batch"], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stdout.on("data", (c: Buffer) => {
      this.#chunks.push(c);
      this.#length += c.length;
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    this.#child.stdout.on("end", end);
    this.#child.on("error", end);
    this.#child.stdin.on("error", () => {});
    this.#child.stderr.resume();
  }

  async read(id: string): Promise<Buffer> {
    this.#child.stdin.write(`${id}\n`);
    let header = "";
    for (;;) {
      const newline = this.#flat().indexOf(0x0a);
      if (newline >= 0) {
        header = this.#take(newline + 1).toString("latin1");
        break;
      }
      await this.#more();
    }
    const m = /^([0-9a-f]+) (\w+) (\d+)\n$/.exec(header);
    if (m === null || m[1] !== id) throw new Error(`cat-file could not read object ${id}`);
    const size = Number(m[3]);
    while (this.#length < size + 1) await this.#more();
    return this.#take(size + 1).subarray(0, size);
  }

  close(): void {
    this.#child.stdin.end();
    this.#child.kill();
  }

  /** Joins what arrived into one buffer (once per object: reads wait for whole objects). */
  #flat(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] as Buffer;
  }

  #take(n: number): Buffer {
    const flat = this.#flat();
    this.#chunks = [flat.subarray(n)];
    this.#length -= n;
    return flat.subarray(0, n);
  }

  async #more(): Promise<void> {
    if (this.#ended) throw new Error("cat-file ended early");
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    this.#wake = undefined;
  }
}
