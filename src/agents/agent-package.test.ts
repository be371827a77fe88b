import { createHash } from "node:crypto";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tgz } from "../../test/support/fixtures/tarball-fixture.js";
import { tempDirPerFile } from "../../test/support/unit/temp-dir.js";
import {
  agentCacheRoot,
  cachedAgentVersions,
  ensureAgentPackage,
  findAgentPackage,
  packedFilename,
  sha512Matches,
} from "./agent-package.js";
import type { NpmClient, NpmResult } from "./npm-client.js";

const root = tempDirPerFile("cb-agent-cache-");

const GEMINI_TGZ = tgz([
  { name: "package/package.json", content: '{"name":"@google/gemini-cli"}' },
  { name: "package/bundle/gemini.js", content: "#!/usr/bin/env node\n", mode: 0o755 },
]);
const integrityOf = (bytes: Buffer) =>
  `sha512-${createHash("sha512").update(bytes).digest("base64")}`;

/** A stand-in for the host's npm: `pack` writes `tarball`, `view` answers `integrity`. */
function fakeNpm(options: {
  tarball?: Buffer;
  integrity?: string;
  pack?: NpmResult;
  view?: NpmResult;
}): NpmClient & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async run(args, { cwd }) {
      calls.push([...args]);
      if (args[0] === "view") {
        return (
          options.view ?? { exitCode: 0, stdout: JSON.stringify(options.integrity), stderr: "" }
        );
      }
      if (options.pack) return options.pack;
      const filename = "google-gemini-cli-0.61.1.tgz";
      await writeFile(join(cwd, filename), options.tarball ?? GEMINI_TGZ);
      return { exitCode: 0, stdout: JSON.stringify([{ filename }]), stderr: "" };
    },
  };
}

let n = 0;
const home = () => join(root(), `home-${n++}`);
const quiet = () => {};

/** ensureAgentPackage for Gemini CLI 0.61.1 in a fresh home, unless `options` says otherwise. */
function ensurePackage(
  npm: NpmClient,
  options: Partial<Parameters<typeof ensureAgentPackage>[0]> = {},
): ReturnType<typeof ensureAgentPackage> {
  return ensureAgentPackage({
    provider: "gemini",
    version: "0.61.1",
    npm,
    progress: quiet,
    ...options,
    home: options.home ?? home(),
  });
}

/** A fake npm that serves the Gemini CLI tarball with its true sha512. */
const geminiNpm = () => fakeNpm({ integrity: integrityOf(GEMINI_TGZ) });

describe("ensureAgentPackage", () => {
  it("fetches once with npm pack, checks the registry's sha512, and serves the cache after", async () => {
    const h = home();
    const npm = geminiNpm();
    const lines: string[] = [];
    const query = { provider: "gemini" as const, version: "0.61.1", home: h, arch: "x64" as const };
    expect(await findAgentPackage(query)).toBeNull();
    const pkg = await ensureAgentPackage({ ...query, npm, progress: (l) => lines.push(l) });
    const dir = join(h, "cache/agents/gemini/0.61.1-linux-x64/package");
    expect(pkg).toEqual({
      provider: "gemini",
      version: "0.61.1",
      arch: "x64",
      spec: "@google/gemini-cli@0.61.1",
      dir,
      binary: join(dir, "bundle/gemini.js"),
      relativeBinary: "bundle/gemini.js",
    });
    expect(npm.calls).toEqual([
      ["view", "@google/gemini-cli@0.61.1", "dist.integrity", "--json"],
      ["pack", "@google/gemini-cli@0.61.1", "--json", "--ignore-scripts"],
    ]);
    expect(lines[0]).toMatch(/^fetching Gemini CLI 0\.61\.1 \(@google\/gemini-cli@0\.61\.1\)/);
    expect(lines.at(-1)).toMatch(/^cached Gemini CLI 0\.61\.1 in /);
    // Only the package and its record: no tarball, no temporary directory.
    expect(await readdir(join(h, "cache/agents/gemini"))).toEqual(["0.61.1-linux-x64"]);
    expect(await readdir(join(h, "cache/agents/gemini/0.61.1-linux-x64"))).toEqual([
      "claude-bottle-package.json",
      "package",
    ]);
    expect((await stat(pkg.binary)).mode & 0o777).toBe(0o755);

    const again = fakeNpm({});
    expect(await ensureAgentPackage({ ...query, npm: again, progress: quiet })).toEqual(pkg);
    expect(again.calls).toEqual([]);
  });

  it("checks a pinned version against its pinned sha512, without asking the registry", async () => {
    const npm = fakeNpm({});
    await expect(
      ensureAgentPackage({ provider: "gemini", home: home(), arch: "x64", npm, progress: quiet }),
    ).rejects.toThrow(
      /^refused @google\/gemini-cli@0\.61\.0: its sha512 is sha512-\S+, but the pinned integrity is sha512-dbQ9/,
    );
    expect(npm.calls.map((c) => c[0])).toEqual(["pack"]);
  });

  it("refuses a tarball whose sha512 is not the registry's, and leaves nothing in the cache", async () => {
    const h = home();
    const npm = fakeNpm({ integrity: integrityOf(Buffer.from("other bytes")) });
    await expect(ensurePackage(npm, { home: h, arch: "x64" })).rejects.toThrow(
      "but the registry integrity is",
    );
    expect(await readdir(join(h, "cache/agents/gemini"))).toEqual([]);
  });

  it("refuses when the registry gives no sha512 to check against", async () => {
    const npm = fakeNpm({ integrity: "sha1-abc=" });
    await expect(ensurePackage(npm)).rejects.toThrow("gave no sha512 integrity");
  });

  it("refuses a package with a link in it, leaving no half package behind", async () => {
    const h = home();
    const evil = tgz([
      { name: "package/bundle/gemini.js", content: "x", mode: 0o755 },
      { name: "package/bundle/escape", type: "2", linkname: "/etc/shadow" },
    ]);
    const npm = fakeNpm({ tarball: evil, integrity: integrityOf(evil) });
    await expect(ensurePackage(npm, { home: h })).rejects.toThrow(
      'refused the package: "package/bundle/escape" is a link',
    );
    expect(await readdir(join(h, "cache/agents/gemini"))).toEqual([]);
  });

  it("refuses a package without the program where the provider keeps it", async () => {
    const moved = tgz([{ name: "package/dist/gemini.js", content: "x" }]);
    const npm = fakeNpm({ tarball: moved, integrity: integrityOf(moved) });
    await expect(ensurePackage(npm)).rejects.toThrow(
      "@google/gemini-cli@0.61.1 holds no bundle/gemini.js",
    );
  });

  it("names the command, npm's own reason and the fix when npm cannot fetch", async () => {
    const npm = fakeNpm({
      integrity: "sha512-x",
      pack: {
        exitCode: 1,
        stdout: "",
        stderr:
          "npm error code ECONNREFUSED\nnpm error network request to https://registry.example.test/x failed, reason: connect ECONNREFUSED\nnpm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n",
      },
    });
    const error = (await ensurePackage(npm).then(
      () => null,
      (e: unknown) => e,
    )) as Error & { hint?: string };
    expect(error.message).toBe(
      "npm pack @google/gemini-cli@0.61.1 failed: network request to https://registry.example.test/x failed, reason: connect ECONNREFUSED",
    );
    expect(error.hint).toBe(
      "check the registry with `npm config get registry`, then run: npm ping (a proxy or an offline host needs npm's own settings)",
    );
  });

  it("uses the platform package and path of each provider and architecture", async () => {
    const specs: string[] = [];
    const npm: NpmClient = {
      async run(args) {
        specs.push(args[1] ?? "");
        return { exitCode: 1, stdout: "", stderr: "npm error 404 Not Found" };
      },
    };
    for (const [provider, arch] of [
      ["claude", "arm64"],
      ["codex", "x64"],
      ["codex", "arm64"],
    ] as const) {
      await ensurePackage(npm, { provider, version: "9.9.9", arch }).catch(() => {});
    }
    expect(specs).toEqual([
      "@anthropic-ai/claude-code-linux-arm64@9.9.9",
      "@openai/codex@9.9.9-linux-x64",
      "@openai/codex@9.9.9-linux-arm64",
    ]);
  });

  it("refuses a version that is not one, before running npm", async () => {
    const npm = fakeNpm({});
    await expect(
      ensurePackage(npm, { provider: "codex", version: "latest; rm -rf ~" }),
    ).rejects.toThrow('"latest; rm -rf ~" is not a version of Codex');
    expect(npm.calls).toEqual([]);
  });

  it("does not take a record whose spec or program is not the provider's as a cached package", async () => {
    const h = home();
    const query = { provider: "gemini" as const, version: "0.61.1", home: h };
    const pkg = await ensurePackage(geminiNpm(), query);
    const record = join(pkg.dir, "..", "claude-bottle-package.json");
    const text = await readFile(record, "utf8");
    await writeFile(record, text.replace("bundle/gemini.js", "../../../bin/sh"));
    expect(await findAgentPackage(query)).toBeNull();
    await rm(record);
    expect(await findAgentPackage(query)).toBeNull();
  });
});

describe("agentCacheRoot", () => {
  it("is the home's cache, or CLAUDE_BOTTLE_AGENT_CACHE when that is absolute", () => {
    expect(agentCacheRoot("/h")).toBe("/h/cache/agents");
    expect(agentCacheRoot("/h", { CLAUDE_BOTTLE_AGENT_CACHE: "/shared/agents" })).toBe(
      "/shared/agents",
    );
    expect(() => agentCacheRoot("/h", { CLAUDE_BOTTLE_AGENT_CACHE: "rel/agents" })).toThrow(
      'CLAUDE_BOTTLE_AGENT_CACHE must be an absolute path, got "rel/agents"',
    );
  });
});

describe("integrity and npm pack output", () => {
  it("matches any sha512 of an SRI list, never a sha1", () => {
    expect(sha512Matches("sha1-x sha512-abc", "sha512-abc")).toBe(true);
    expect(sha512Matches("sha1-abc", "sha1-abc")).toBe(false);
    expect(sha512Matches("sha512-abd", "sha512-abc")).toBe(false);
  });

  it("reads the tarball's name, and refuses one that could be a path", () => {
    expect(packedFilename('> noise\n[{"filename":"a-1.0.0.tgz"}]', "a")).toBe("a-1.0.0.tgz");
    expect(() => packedFilename('[{"filename":"../../x.tgz"}]', "a")).toThrow(
      "npm pack a did not say which file it wrote",
    );
    expect(() => packedFilename("not json", "a")).toThrow("did not say");
  });
});

describe("a cache others can write", () => {
  it("is refused, not used", async () => {
    const h = home();
    const query = { provider: "gemini" as const, version: "0.61.1", home: h };
    const pkg = await ensurePackage(geminiNpm(), query);
    const { chmod } = await import("node:fs/promises");
    await chmod(join(pkg.dir, ".."), 0o777);
    await expect(findAgentPackage(query)).rejects.toThrow(
      "is writable by group or others; the agent program there cannot be trusted",
    );
    await chmod(join(pkg.dir, ".."), 0o755);
    await chmod(join(h, "cache/agents"), 0o775);
    await expect(findAgentPackage(query)).rejects.toThrow("writable by group or others");
  });
});

describe("cachedAgentVersions", () => {
  it("lists the whole packages of this architecture only, sorted", async () => {
    const h = home();
    expect(await cachedAgentVersions({ provider: "gemini", home: h, arch: "x64" })).toEqual([]);
    const npm = geminiNpm();
    for (const version of ["0.62.0", "0.61.1"]) {
      await ensurePackage(npm, { version, home: h, arch: "x64" });
    }
    await ensurePackage(npm, { version: "0.60.0", home: h, arch: "arm64" });
    // A half package (no record) is not a cached version.
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(h, "cache/agents/gemini/0.59.0-linux-x64/package"), { recursive: true });
    expect(await cachedAgentVersions({ provider: "gemini", home: h, arch: "x64" })).toEqual([
      "0.61.1",
      "0.62.0",
    ]);
  });
});
