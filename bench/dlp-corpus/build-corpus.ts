// Builds a corpus of clean traffic, offline, from what this machine holds: npm tarballs packed
// from node_modules with their packuments and a publish request, wheels from python's own
// site-packages with PEP 691 index pages and an upload form, packs of this repository's
// history in git's smart-HTTP shapes, a Claude Code and a Codex session against the model
// APIs, minified bundles and their source maps, images, lockfiles and WebSocket messages.
// Nothing here reaches the network: every URL in it names a placeholder host under .test.
import { spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, join, relative } from "node:path";
import { crc32, deflateSync, gzipSync } from "node:zlib";
import type { CorpusItem, CorpusManifest, ItemKind } from "./corpus-types.js";

export type CorpusScale = "full" | "reduced";

export interface BuildCorpusOptions {
  /** An empty or missing directory the corpus is written to. */
  dir: string;
  /** This repository's work tree: its git history, node_modules and sources. */
  root: string;
  scale: CorpusScale;
  log?: (line: string) => void;
}

const REGISTRY = "registry.example.test";
const FILES_HOST = "files.example.test";
const MAX_ITEM_BYTES = 8 * 1024 * 1024;

/**
 * Files of this repository that hold credential-shaped test fixtures on purpose (the DLP
 * engine's own tests and rules, tests that check a refusal): a finding in one is a true
 * positive, so the model sessions leave them out, and so do the packs (by path).
 */
const FIXTURE_PATH = /(^|\/)test\/|\.test\.ts$|^src\/shared\/dlp\/|^bench\//;

interface Scale {
  npmPackages: number;
  wheels: number;
  claudeTurns: number;
  codexTurns: number;
  sourceMaps: number;
  sidecarBundles: string[];
  /** Commits of history in the packs; 0 is all of it. */
  gitCommits: number;
  audioMessages: number;
}

const SCALES: Record<CorpusScale, Scale> = {
  full: {
    npmPackages: 40,
    wheels: 30,
    claudeTurns: 60,
    codexTurns: 40,
    sourceMaps: 30,
    sidecarBundles: ["pipelock", "egress", "git-gate", "supervise"],
    gitCommits: 0,
    audioMessages: 200,
  },
  reduced: {
    npmPackages: 3,
    wheels: 3,
    claudeTurns: 6,
    codexTurns: 4,
    sourceMaps: 2,
    sidecarBundles: ["git-gate"],
    gitCommits: 8,
    audioMessages: 20,
  },
};

export async function buildCorpus(options: BuildCorpusOptions): Promise<CorpusManifest> {
  const { dir, root } = options;
  const scale = SCALES[options.scale];
  const log = options.log ?? (() => {});
  mkdirSync(dir, { recursive: true });
  const items: CorpusItem[] = [];
  const put = (
    kind: ItemKind,
    file: string,
    bytes: Uint8Array,
    item: Omit<CorpusItem, "kind" | "file">,
  ) => {
    const path = join(dir, kind, file);
    mkdirSync(join(dir, kind), { recursive: true });
    writeFileSync(path, bytes);
    items.push({ kind, file: relative(dir, path), ...item });
  };
  const rand = seeded(options.scale === "full" ? 1 : 2);

  log("npm: packing packages from node_modules");
  buildNpm(root, dir, scale, put, rand);
  log("pypi: wheels from site-packages");
  buildPypi(root, dir, scale, put);
  log("git: packs of this repository's history");
  const push = buildGit(root, dir, scale, put);
  items.push(push);
  const sources = repositoryFiles(root).filter((f) => !FIXTURE_PATH.test(f.path));
  const pngs = generatedPngs(rand);
  log("model: Claude Code and Codex sessions");
  buildModelSessions(sources, pngs, scale, put, rand);
  log("javascript: minified bundles and source maps");
  await buildBundles(root, dir, scale, put);
  buildNodeModulesAssets(root, scale, put);
  for (const [i, png] of pngs.entries()) {
    put("image", `generated-${i}.png`, png, {
      ...request("image", `generated-${i}.png`, "image/png"),
      alsoResponse: true,
    });
  }
  log("json: lockfiles and transcripts");
  buildJsonDocs(root, sources, put, rand);
  buildWebsocket(sources, scale, put, rand);
  const manifest: CorpusManifest = { items };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, 1));
  return manifest;
}

type Put = (
  kind: ItemKind,
  file: string,
  bytes: Uint8Array,
  item: Omit<CorpusItem, "kind" | "file">,
) => void;

function request(
  kind: string,
  name: string,
  contentType: string,
  extra: Partial<CorpusItem> = {},
): Omit<CorpusItem, "kind" | "file"> {
  return {
    name,
    carriage: "request",
    host: `${kind}.example.test`,
    method: "PUT",
    path: `/upload/${encodeURIComponent(name)}`,
    headers: [
      ["user-agent", "curl/7.88.1"],
      ["accept", "*/*"],
    ],
    contentType,
    ...extra,
  };
}

// ---- npm

interface Packed {
  name: string;
  version: string;
  filename: string;
  integrity: string;
  shasum: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
}

function buildNpm(root: string, dir: string, scale: Scale, put: Put, rand: Random): void {
  const work = join(dir, ".work", "npm");
  mkdirSync(work, { recursive: true });
  const picked = nodeModulesPackages(join(root, "node_modules"))
    .filter((p) => p.bytes < 30 * 1024 * 1024)
    .slice(0, scale.npmPackages * 2);
  const copies: string[] = [];
  for (const p of picked.slice(0, scale.npmPackages)) {
    const copy = join(work, "src", p.name.replace("/", "+"));
    cpSync(p.dir, copy, {
      recursive: true,
      dereference: true,
      filter: (s) => !s.slice(p.dir.length).includes("/node_modules"),
    });
    copies.push(copy);
  }
  const out = join(work, "packed");
  mkdirSync(out, { recursive: true });
  const result = spawnSync(
    "npm",
    ["pack", ...copies, "--pack-destination", out, "--ignore-scripts", "--offline", "--json"],
    {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: "false" },
    },
  );
  if (result.status !== 0) throw new Error(`npm pack failed: ${result.stderr.slice(0, 2000)}`);
  const packed = JSON.parse(result.stdout) as Packed[];
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keyid = `SHA256:${randomBase64(rand, 32)}`;
  for (const [i, p] of packed.entries()) {
    const tgz = readFileSync(join(out, p.filename));
    if (tgz.length > MAX_ITEM_BYTES) continue;
    const manifest = JSON.parse(readFileSync(join(copies[i] as string, "package.json"), "utf8"));
    const bare = p.name.split("/").pop() as string;
    const tarball = `https://${REGISTRY}/${p.name}/-/${bare}-${p.version}.tgz`;
    put("npm-tarball", p.filename, tgz, {
      ...request("npm", p.filename, "application/octet-stream"),
      carriage: "request",
      alsoResponse: true,
    });
    const signature = sign(
      "sha256",
      Buffer.from(`${p.name}@${p.version}:${p.integrity}`),
      privateKey,
    );
    const version = {
      ...withoutPrivateFields(manifest),
      _id: `${p.name}@${p.version}`,
      _nodeVersion: "20.20.2",
      _npmVersion: "10.8.2",
      dist: {
        integrity: p.integrity,
        shasum: p.shasum,
        tarball,
        fileCount: p.entryCount,
        unpackedSize: p.unpackedSize,
        signatures: [{ keyid, sig: signature.toString("base64") }],
      },
      _npmUser: { name: "maintainer", email: "maintainer@example.test" },
      directories: {},
      maintainers: [{ name: "maintainer", email: "maintainer@example.test" }],
      _hasShrinkwrap: false,
    };
    const readme = readmeOf(copies[i] as string);
    const created = new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString();
    const packument = {
      _id: p.name,
      _rev: `${i + 1}-${hex(rand, 16)}`,
      name: p.name,
      "dist-tags": { latest: p.version },
      versions: { [p.version]: version },
      time: { created, modified: created, [p.version]: created },
      maintainers: version.maintainers,
      description: manifest.description,
      license: manifest.license,
      readme,
      readmeFilename: readme === "" ? "" : "README.md",
    };
    const json = Buffer.from(JSON.stringify(packument));
    put("npm-packument", `${bare}.json.gz`, gzipSync(json), {
      name: `${p.name} packument`,
      carriage: "request",
      host: REGISTRY,
      method: "GET",
      path: `/${p.name.replace("/", "%2f")}`,
      headers: [
        ["accept", "application/json"],
        ["npm-command", "install"],
        ["user-agent", "npm/10.8.2 node/v20.20.2 linux x64 workspaces/false"],
      ],
      contentType: "application/json",
      contentEncoding: "gzip",
      alsoResponse: true,
    });
    if (i < Math.max(1, Math.floor(scale.npmPackages / 4))) {
      const publish = {
        _id: p.name,
        name: p.name,
        description: manifest.description,
        "dist-tags": { latest: p.version },
        versions: {
          [p.version]: { ...version, dist: { integrity: p.integrity, shasum: p.shasum, tarball } },
        },
        access: null,
        _attachments: {
          [`${bare}-${p.version}.tgz`]: {
            content_type: "application/octet-stream",
            data: tgz.toString("base64"),
            length: tgz.length,
          },
        },
      };
      put("npm-publish", `${bare}.json`, Buffer.from(JSON.stringify(publish)), {
        name: `${p.name} publish`,
        carriage: "request",
        host: REGISTRY,
        method: "PUT",
        path: `/${p.name.replace("/", "%2f")}`,
        headers: [
          ["npm-command", "publish"],
          ["npm-auth-type", "web"],
          ["npm-session", hex(rand, 8)],
          ["user-agent", "npm/10.8.2 node/v20.20.2 linux x64 workspaces/false"],
        ],
        contentType: "application/json",
      });
    }
  }
}

function withoutPrivateFields(manifest: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(manifest).filter(([k]) => !k.startsWith("_")));
}

function readmeOf(dir: string): string {
  const name = readdirSync(dir).find((f) => /^readme(\.md)?$/i.test(f));
  return name === undefined ? "" : readFileSync(join(dir, name), "utf8");
}

interface NodeModule {
  name: string;
  dir: string;
  bytes: number;
}

function nodeModulesPackages(nodeModules: string): NodeModule[] {
  const found: NodeModule[] = [];
  const add = (name: string, dir: string) => {
    if (!existsSync(join(dir, "package.json"))) return;
    found.push({ name, dir, bytes: treeBytes(dir, 64 * 1024 * 1024) });
  };
  for (const entry of readdirSync(nodeModules).sort()) {
    if (entry.startsWith(".")) continue;
    const dir = join(nodeModules, entry);
    if (entry.startsWith("@")) {
      for (const sub of readdirSync(dir).sort()) add(`${entry}/${sub}`, join(dir, sub));
    } else add(entry, dir);
  }
  // Spread the picks over the alphabet, so a small corpus is not all one letter.
  const stride = 7;
  return found.map((_, i) => found[(i * stride) % found.length] as NodeModule);
}

function treeBytes(dir: string, limit: number): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (total > limit) return;
      if (e.name === "node_modules") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  walk(dir);
  return total;
}

// ---- PyPI

interface Wheel {
  name: string;
  version: string;
  filename: string;
  bytes: number;
  sha256: string;
  metadataSha256: string;
  requiresPython: string | null;
}

function buildPypi(root: string, dir: string, scale: Scale, put: Put): void {
  const work = join(dir, ".work", "wheels");
  mkdirSync(work, { recursive: true });
  const result = spawnSync("python3", [join(root, "bench", "dlp-corpus", "make-wheels.py")], {
    input: JSON.stringify({ out: work, count: scale.wheels, maxBytes: MAX_ITEM_BYTES }),
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(`make-wheels.py failed: ${result.stderr.slice(0, 2000)}`);
  const wheels = result.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Wheel);
  for (const [i, w] of wheels.entries()) {
    const bytes = readFileSync(join(work, w.filename));
    const project = w.name.toLowerCase().replace(/[-_.]+/g, "-");
    put("pypi-wheel", w.filename, bytes, {
      ...request("pypi", w.filename, "application/octet-stream"),
      alsoResponse: true,
    });
    const url = `https://${FILES_HOST}/packages/${w.sha256.slice(0, 2)}/${w.sha256.slice(2, 4)}/${w.sha256.slice(4)}/${w.filename}`;
    const page = {
      meta: { "api-version": "1.1", "_last-serial": 20_000_000 + i },
      name: project,
      versions: [w.version],
      files: [
        {
          filename: w.filename,
          url,
          hashes: { sha256: w.sha256 },
          "requires-python": w.requiresPython,
          "core-metadata": { sha256: w.metadataSha256 },
          "data-dist-info-metadata": { sha256: w.metadataSha256 },
          "dist-info-metadata": { sha256: w.metadataSha256 },
          size: w.bytes,
          "upload-time": new Date(Date.UTC(2025, 5, 1) + i * 3_600_000).toISOString(),
          yanked: false,
        },
      ],
    };
    put("pypi-index", `${project}.json.gz`, gzipSync(JSON.stringify(page)), {
      name: `${project} index page`,
      carriage: "request",
      host: "pypi.example.test",
      method: "GET",
      path: `/simple/${project}/`,
      headers: [
        ["accept", "application/vnd.pypi.simple.v1+json"],
        ["user-agent", "pip/23.2.1"],
      ],
      contentType: "application/vnd.pypi.simple.v1+json",
      contentEncoding: "gzip",
      alsoResponse: true,
    });
    if (i < Math.max(1, Math.floor(scale.wheels / 4))) {
      const form = multipart(
        [
          [":action", "file_upload"],
          ["protocol_version", "1"],
          ["metadata_version", "2.1"],
          ["name", w.name],
          ["version", w.version],
          ["filetype", "bdist_wheel"],
          ["pyversion", "py3"],
          ["sha256_digest", w.sha256],
          ["blake2_256_digest", createHash("blake2b512").update(bytes).digest("hex").slice(0, 64)],
        ],
        { name: "content", filename: w.filename, bytes },
        `----bench${w.sha256.slice(0, 24)}`,
      );
      put("pypi-wheel", `${w.filename}.upload`, form.body, {
        name: `${w.filename} upload form`,
        carriage: "request",
        host: "upload.pypi.example.test",
        method: "POST",
        path: "/legacy/",
        headers: [["user-agent", "twine/4.0.2 CPython/3.11.7"]],
        contentType: form.contentType,
      });
    }
  }
}

function multipart(
  fields: [string, string][],
  file: { name: string; filename: string; bytes: Uint8Array },
  boundary: string,
): { body: Buffer; contentType: string } {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      ),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    Buffer.from(file.bytes),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

// ---- git

function git(root: string, args: string[], input?: Buffer | string): Buffer {
  const r = spawnSync("git", args, { cwd: root, input, maxBuffer: 1024 * 1024 * 1024 });
  if (r.status !== 0)
    throw new Error(`git ${args.join(" ")} failed: ${r.stderr.toString().slice(0, 2000)}`);
  return r.stdout;
}

function buildGit(root: string, dir: string, scale: Scale, put: Put): CorpusItem {
  const head = git(root, ["rev-parse", "HEAD"]).toString().trim();
  const base =
    scale.gitCommits === 0
      ? undefined
      : git(root, ["rev-parse", `HEAD~${scale.gitCommits}`])
          .toString()
          .trim();
  const range = base === undefined ? [head] : [head, `^${base}`];
  // Blobs only at paths that hold credential-shaped test fixtures are left out of the packs.
  const listed = git(root, ["rev-list", "--objects", ...range])
    .toString()
    .split("\n")
    .filter((line) => {
      const path = line.slice(41);
      return line !== "" && (path === "" || !FIXTURE_PATH.test(path));
    })
    .map((line) => line.slice(0, 40));
  const pack = git(root, ["pack-objects", "--stdout", "-q"], `${listed.join("\n")}\n`);
  const zero = "0".repeat(40);
  const command = `${base ?? zero} ${head} refs/heads/main\0 report-status side-band-64k quiet object-format=sha1 agent=git/2.39.5\n`;
  const receive = Buffer.concat([pktLine(command), Buffer.from("0000"), pack]);
  put("git-receive-pack", "receive-pack.req", receive, {
    name: `push of ${listed.length} objects`,
    carriage: "request",
    host: "git.example.test",
    method: "POST",
    path: "/owner/repo.git/git-receive-pack",
    headers: [
      ["user-agent", "git/2.39.5"],
      ["accept", "application/x-git-receive-pack-result"],
    ],
    contentType: "application/x-git-receive-pack-request",
  });
  const chunks: Buffer[] = [pktLine("NAK\n")];
  chunks.push(pktLine(Buffer.from(`\x02Enumerating objects: ${listed.length}, done.\n`)));
  for (let at = 0; at < pack.length; at += 65515) {
    chunks.push(pktLine(Buffer.concat([Buffer.from([1]), pack.subarray(at, at + 65515)])));
  }
  chunks.push(pktLine(Buffer.from(`\x02Total ${listed.length} (delta 0), reused 0 (delta 0)\n`)));
  chunks.push(Buffer.from("0000"));
  put("git-upload-pack", "upload-pack.res", Buffer.concat(chunks), {
    name: `fetch of ${listed.length} objects`,
    carriage: "request",
    host: "git.example.test",
    method: "POST",
    path: "/owner/repo.git/git-upload-pack",
    headers: [["user-agent", "git/2.39.5"]],
    contentType: "application/x-git-upload-pack-result",
    alsoResponse: true,
  });

  // The push scan reads a repository that holds the pushed objects and no ref to them.
  const repo = join(dir, "git-push-scan", "repo.git");
  mkdirSync(repo, { recursive: true });
  git(repo, ["init", "--bare", "-q"]);
  if (base !== undefined) git(repo, ["fetch", "-q", "--no-tags", root, `${base}:refs/heads/main`]);
  git(repo, ["fetch", "-q", "--no-tags", root, head]);
  return {
    kind: "git-push-scan",
    name:
      base === undefined
        ? "first push of the whole history"
        : `push of ${scale.gitCommits} commits`,
    carriage: "push",
    file: relative(dir, repo),
    host: "git-gate",
    headers: [],
    push: { ref: "refs/heads/main", newId: head },
  };
}

function pktLine(data: string | Buffer): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  return Buffer.concat([Buffer.from((bytes.length + 4).toString(16).padStart(4, "0")), bytes]);
}

// ---- model API sessions

interface SourceFile {
  path: string;
  text: string;
}

/** The committed text files of this repository (HEAD, not the work tree others are editing). */
function repositoryFiles(root: string): SourceFile[] {
  const listing = git(root, ["ls-tree", "-r", "-z", "HEAD"]).toString("utf8").split("\0");
  const blobs = listing
    .filter((l) => l.includes(" blob "))
    .map((l) => {
      const [meta = "", path = ""] = l.split("\t");
      return { id: meta.split(" ")[2] as string, path };
    })
    .filter((b) => /\.(ts|mjs|js|md|json|sh|yaml|yml|Dockerfile)$|Dockerfile$/.test(b.path));
  const out = git(root, ["cat-file", "--batch"], `${blobs.map((b) => b.id).join("\n")}\n`);
  const files: SourceFile[] = [];
  let at = 0;
  for (const b of blobs) {
    const eol = out.indexOf(10, at);
    const size = Number(out.subarray(at, eol).toString().split(" ")[2]);
    const bytes = out.subarray(eol + 1, eol + 1 + size);
    at = eol + 1 + size + 1;
    if (!bytes.includes(0)) files.push({ path: b.path, text: bytes.toString("utf8") });
  }
  return files;
}

function numbered(text: string): string {
  return text
    .split("\n")
    .map((line, i) => `${String(i + 1).padStart(6)}\t${line}`)
    .join("\n");
}

function buildModelSessions(
  sources: SourceFile[],
  pngs: Buffer[],
  scale: Scale,
  put: Put,
  rand: Random,
): void {
  const docs = sources.filter((f) => f.path.endsWith(".md"));
  const code = sources.filter((f) => !f.path.endsWith(".md"));
  const system = docs
    .slice(0, 3)
    .map((d) => `Contents of ${d.path}:\n\n${d.text}`)
    .join("\n\n");
  const session = uuid(rand);
  const tools = ["Read", "Bash", "Edit", "Grep", "Glob", "Write"].map((name) => ({
    name,
    description: `${name}: ${docs[0]?.text.slice(0, 600) ?? ""}`,
    input_schema: {
      type: "object",
      properties: { file_path: { type: "string", description: "The absolute path to the file" } },
      required: ["file_path"],
      additionalProperties: false,
      $schema: "http://json-schema.org/draft-07/schema#",
    },
  }));
  const messages: unknown[] = [];
  let saved = 0;
  const checkpoints = new Set([1, 2, 3].map((k) => Math.floor((scale.claudeTurns * k) / 3)));
  for (let turn = 1; turn <= scale.claudeTurns; turn++) {
    const file = code[(turn * 13) % code.length] as SourceFile;
    const id = `toolu_01${base62(rand, 22)}`;
    const content: unknown[] = [
      { type: "text", text: `Look at ${file.path} and explain what it must never do.` },
    ];
    if (turn % 5 === 0) {
      const png = pngs[turn % pngs.length] as Buffer;
      content.push({
        type: "image",
        source: { type: "base64", media_type: "image/png", data: png.toString("base64") },
      });
    }
    messages.push({ role: "user", content });
    messages.push({
      role: "assistant",
      content: [
        {
          type: "thinking",
          thinking: `The user wants ${file.path}. Read it first.`,
          signature: randomBase64(rand, 400 + (turn % 7) * 50),
        },
        { type: "text", text: `I'll read ${file.path}.` },
        { type: "tool_use", id, name: "Read", input: { file_path: `/workspace/${file.path}` } },
      ],
    });
    messages.push({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: id, content: numbered(file.text) }],
    });
    messages.push({
      role: "assistant",
      content: [
        {
          type: "text",
          text: `It is ${file.text.length} characters; its header says ${file.text.split("\n")[0]}`,
        },
      ],
    });
    if (!checkpoints.has(turn)) continue;
    const body = {
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 32000,
      system: [{ type: "text", text: system, cache_control: { type: "ephemeral" } }],
      messages: [...messages, { role: "user", content: [{ type: "text", text: "Go on." }] }],
      tools,
      metadata: { user_id: `user_${hex(rand, 32)}_account_${uuid(rand)}_session_${session}` },
      thinking: { type: "enabled", budget_tokens: 31999 },
      stream: true,
    };
    const json = Buffer.from(JSON.stringify(body));
    if (json.length > MAX_ITEM_BYTES) break;
    saved++;
    put("model-api", `messages-${saved}.json`, json, {
      name: `Messages request ${saved} (${turn} turns)`,
      carriage: "request",
      host: "api.anthropic.example.test",
      method: "POST",
      path: "/v1/messages",
      query: "beta=true",
      headers: [
        ["anthropic-version", "2023-06-01"],
        ["anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"],
        ["x-app", "cli"],
        ["user-agent", "claude-cli/2.1.0 (external, cli)"],
        ["x-stainless-lang", "js"],
        ["x-stainless-package-version", "0.60.0"],
        ["x-stainless-retry-count", "0"],
        ["x-stainless-timeout", "600"],
        ["accept", "application/json"],
      ],
      contentType: "application/json",
    });
    put("model-stream", `messages-${saved}.sse`, Buffer.from(sseOf(file.text, rand)), {
      name: `Messages stream ${saved}`,
      carriage: "response",
      host: "api.anthropic.example.test",
      headers: [],
      contentType: "text/event-stream",
    });
  }

  const input: unknown[] = [];
  saved = 0;
  const codexCheckpoints = new Set([1, 2].map((k) => Math.floor((scale.codexTurns * k) / 2)));
  const conversation = uuid(rand);
  for (let turn = 1; turn <= scale.codexTurns; turn++) {
    const file = code[(turn * 29 + 5) % code.length] as SourceFile;
    const call = `call_${base62(rand, 24)}`;
    const content: unknown[] = [{ type: "input_text", text: `Review ${file.path}.` }];
    if (turn % 6 === 0) {
      content.push({
        type: "input_image",
        image_url: `data:image/png;base64,${(pngs[turn % pngs.length] as Buffer).toString("base64")}`,
      });
    }
    input.push({ type: "message", role: "user", content });
    input.push({
      type: "reasoning",
      summary: [],
      content: null,
      encrypted_content: `gAAAAA${randomBase64(rand, 1200 + (turn % 5) * 300)}`,
    });
    input.push({
      type: "function_call",
      name: "shell",
      arguments: JSON.stringify({
        command: ["bash", "-lc", `sed -n '1,400p' ${file.path}`],
        workdir: "/workspace",
        timeout_ms: 120000,
      }),
      call_id: call,
    });
    input.push({
      type: "function_call_output",
      call_id: call,
      output: JSON.stringify({
        output: file.text,
        metadata: { exit_code: 0, duration_seconds: 0.1 },
      }),
    });
    if (!codexCheckpoints.has(turn)) continue;
    const body = {
      model: "gpt-5-codex",
      instructions: system,
      input,
      tools: [
        {
          type: "function",
          name: "shell",
          description: "Runs a shell command",
          strict: false,
          parameters: {
            type: "object",
            properties: { command: { type: "array", items: { type: "string" } } },
            required: ["command"],
          },
        },
      ],
      tool_choice: "auto",
      parallel_tool_calls: false,
      reasoning: { effort: "medium", summary: "auto" },
      store: false,
      stream: true,
      include: ["reasoning.encrypted_content"],
      prompt_cache_key: conversation,
    };
    const json = Buffer.from(JSON.stringify(body));
    if (json.length > MAX_ITEM_BYTES) break;
    saved++;
    put("model-api", `responses-${saved}.json`, json, {
      name: `Responses request ${saved} (${turn} turns)`,
      carriage: "request",
      host: "api.openai.example.test",
      method: "POST",
      path: "/v1/responses",
      headers: [
        ["originator", "codex_cli_rs"],
        ["version", "0.46.0"],
        ["session_id", conversation],
        ["conversation_id", conversation],
        ["openai-beta", "responses=experimental"],
        ["accept", "text/event-stream"],
        ["user-agent", "codex_cli_rs/0.46.0 (Debian 12.0.0; x86_64) xterm-256color"],
      ],
      contentType: "application/json",
    });
  }
}

function sseOf(text: string, rand: Random): string {
  const events = [
    `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { id: `msg_01${base62(rand, 22)}`, type: "message", role: "assistant", content: [], model: "claude-sonnet-4-5-20250929", usage: { input_tokens: 12, output_tokens: 1 } } })}\n\n`,
  ];
  for (let at = 0; at < Math.min(text.length, 64 * 1024); at += 40) {
    events.push(
      `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: text.slice(at, at + 40) } })}\n\n`,
    );
  }
  events.push(`event: message_stop\ndata: {"type":"message_stop"}\n\n`);
  return events.join("");
}

// ---- JavaScript bundles, source maps, node_modules assets

async function buildBundles(root: string, dir: string, scale: Scale, put: Put): Promise<void> {
  // From the repository's own node_modules, also when this module runs bundled elsewhere.
  const esbuild = createRequire(join(root, "package.json"))("esbuild") as typeof import("esbuild");
  for (const name of scale.sidecarBundles) {
    const entry = join(root, "src", "sidecars", name, "main.ts");
    if (!existsSync(entry)) continue;
    const outfile = join(dir, ".work", "bundles", `${name}.min.js`);
    const result = await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      minify: true,
      platform: "node",
      target: "node20",
      format: "esm",
      sourcemap: "external",
      sourcesContent: true,
      write: false,
      logLevel: "silent",
    });
    for (const out of result.outputFiles) {
      const file = basename(out.path);
      if (file.endsWith(".map")) {
        put("source-map", file, gzipSync(out.contents), {
          ...request("static", file, "application/json", { contentEncoding: "gzip" }),
          alsoResponse: true,
        });
      } else {
        put("minified-js", file, gzipSync(out.contents), {
          ...request("static", file, "application/javascript", { contentEncoding: "gzip" }),
          alsoResponse: true,
        });
      }
    }
  }
}

function buildNodeModulesAssets(root: string, scale: Scale, put: Put): void {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) found.push(p);
    }
  };
  walk(join(root, "node_modules"));
  found.sort();
  const nm = join(root, "node_modules");
  for (const p of found.filter((f) => f.endsWith(".min.js"))) {
    const name = relative(nm, p);
    put("minified-js", name.replaceAll("/", "+"), gzipSync(readFileSync(p)), {
      ...request("static", name, "application/javascript", { contentEncoding: "gzip" }),
      alsoResponse: true,
    });
  }
  const images: Record<string, string> = {
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    webp: "image/webp",
    gif: "image/gif",
  };
  for (const p of found) {
    const type = images[p.split(".").pop()?.toLowerCase() ?? ""];
    if (type === undefined) continue;
    const name = relative(nm, p);
    put("image", name.replaceAll("/", "+"), readFileSync(p), {
      ...request("static", name, type),
      alsoResponse: true,
    });
  }
  let maps = 0;
  for (const p of found.filter((f) => f.endsWith(".map"))) {
    if (maps >= scale.sourceMaps) break;
    const text = readFileSync(p);
    if (text.length < 8 * 1024 || !text.includes("sourcesContent")) continue;
    maps++;
    const name = relative(nm, p);
    put("source-map", name.replaceAll("/", "+"), gzipSync(text), {
      ...request("static", name, "application/json", { contentEncoding: "gzip" }),
      alsoResponse: true,
    });
  }
}

// ---- JSON documents

function buildJsonDocs(root: string, sources: SourceFile[], put: Put, rand: Random): void {
  for (const lock of ["package-lock.json", "node_modules/.package-lock.json"]) {
    const path = join(root, lock);
    if (!existsSync(path)) continue;
    const text = readFileSync(path);
    put(
      "lockfile-json",
      lock.replaceAll("/", "+"),
      text,
      request("lockfile", lock, "application/json"),
    );
    // npm audit sends the lockfile's tree as a gzip'd JSON body.
    const tree = JSON.parse(text.toString("utf8")) as {
      packages?: Record<string, { version?: string }>;
    };
    const bulk: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(tree.packages ?? {})) {
      const name = key.split("node_modules/").pop();
      if (name && value.version) bulk[name] = [...(bulk[name] ?? []), value.version];
    }
    put("lockfile-json", `${lock.replaceAll("/", "+")}.audit.gz`, gzipSync(JSON.stringify(bulk)), {
      name: `npm audit of ${lock}`,
      carriage: "request",
      host: REGISTRY,
      method: "POST",
      path: "/-/npm/v1/security/advisories/bulk",
      headers: [
        ["npm-command", "audit"],
        ["user-agent", "npm/10.8.2 node/v20.20.2 linux x64 workspaces/false"],
      ],
      contentType: "application/json",
      contentEncoding: "gzip",
    });
  }
  // A Claude Code transcript: one JSON line per message, each with its uuid, parent and session.
  const session = uuid(rand);
  let parent: string | null = null;
  const lines: string[] = [];
  for (const [i, f] of sources.slice(0, 40).entries()) {
    const id = uuid(rand);
    lines.push(
      JSON.stringify({
        parentUuid: parent,
        isSidechain: false,
        userType: "external",
        cwd: "/workspace",
        sessionId: session,
        version: "2.1.0",
        gitBranch: "main",
        type: i % 2 === 0 ? "user" : "assistant",
        message: { role: i % 2 === 0 ? "user" : "assistant", content: f.text.slice(0, 4000) },
        uuid: id,
        timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
        requestId: `req_011${base62(rand, 21)}`,
      }),
    );
    parent = id;
  }
  put(
    "lockfile-json",
    "transcript.jsonl",
    Buffer.from(`${lines.join("\n")}\n`),
    request("transcript", "transcript.jsonl", "application/x-ndjson"),
  );
}

// ---- WebSocket sessions

function buildWebsocket(sources: SourceFile[], scale: Scale, put: Put, rand: Random): void {
  const code = sources.filter((f) => !f.path.endsWith(".md"));
  // Codex's Responses over WebSocket: each turn sends a response.create with the new input.
  const turns: Buffer[] = [];
  for (let i = 0; i < Math.max(4, scale.codexTurns); i++) {
    const file = code[(i * 17 + 3) % code.length] as SourceFile;
    turns.push(
      Buffer.from(
        JSON.stringify({
          type: "response.create",
          response: {
            model: "gpt-5-codex",
            input: [
              {
                type: "reasoning",
                summary: [],
                encrypted_content: `gAAAAA${randomBase64(rand, 1600)}`,
              },
              {
                type: "function_call_output",
                call_id: `call_${base62(rand, 24)}`,
                output: file.text,
              },
            ],
          },
        }),
      ),
    );
  }
  putMessages("responses-ws", turns, "Responses WebSocket session", put);
  // A realtime voice session: base64 PCM16 audio in input_audio_buffer.append events.
  const audio: Buffer[] = [];
  let phase = 0;
  for (let i = 0; i < scale.audioMessages; i++) {
    const pcm = Buffer.alloc(4800 * 2);
    for (let s = 0; s < 4800; s++) {
      phase += 0.031 + 0.002 * Math.sin(i);
      const noise = (rand() - 0.5) * 900;
      pcm.writeInt16LE(Math.round(6000 * Math.sin(phase) + noise), s * 2);
    }
    audio.push(
      Buffer.from(
        JSON.stringify({
          type: "input_audio_buffer.append",
          event_id: `event_${base62(rand, 20)}`,
          audio: pcm.toString("base64"),
        }),
      ),
    );
  }
  putMessages("realtime-audio", audio, "Realtime audio WebSocket session", put);

  function putMessages(file: string, messages: Buffer[], name: string, into: Put) {
    into("websocket", `${file}.frames`, Buffer.concat(messages), {
      name,
      carriage: "websocket",
      host: "api.openai.example.test",
      headers: [],
      messages: messages.map((m) => m.length),
    });
  }
}

// ---- images

export function encodePng(
  width: number,
  height: number,
  channels: 3 | 4,
  pixel: (x: number, y: number) => number[],
  text?: string,
): Buffer {
  const row = width * channels + 1;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    raw[y * row] = 1; // Sub filter, as encoders pick for gradients
    let prev = Array(channels).fill(0) as number[];
    for (let x = 0; x < width; x++) {
      const px = pixel(x, y);
      for (let c = 0; c < channels; c++) {
        raw[y * row + 1 + x * channels + c] = ((px[c] ?? 0) - (prev[c] ?? 0)) & 0xff;
      }
      prev = px;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    ...(text === undefined ? [] : [chunk("tEXt", Buffer.from(`Software\0${text}`, "latin1"))]),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function generatedPngs(rand: Random): Buffer[] {
  return [
    encodePng(640, 400, 3, (x, y) => [(x * 255) / 640, (y * 255) / 400, 128], "bench gradient"),
    encodePng(256, 256, 4, () => [rand() * 256, rand() * 256, rand() * 256, 255]),
    // A terminal screenshot: dark background, rows of light "text" blocks.
    encodePng(800, 480, 3, (x, y) => {
      const on =
        y % 16 < 11 && (Math.floor(x / 8) * 7 + Math.floor(y / 16) * 13) % 5 !== 0 && x % 8 < 6;
      return on ? [220, 220, 210] : [30, 30, 36];
    }),
  ];
}

// ---- deterministic filler

type Random = () => number;

function seeded(seed: number): Random {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function bytesOf(rand: Random, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

function randomBase64(rand: Random, bytes: number): string {
  return bytesOf(rand, bytes).toString("base64");
}

function hex(rand: Random, bytes: number): string {
  return bytesOf(rand, bytes).toString("hex");
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function base62(rand: Random, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += BASE62[Math.floor(rand() * 62)];
  return s;
}

function uuid(rand: Random): string {
  const h = hex(rand, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Random bytes for a caller that needs fresh ones (known secrets), not the corpus's seed. */
export function freshToken(length: number): string {
  return randomBytes(length).toString("base64url").slice(0, length);
}

export function removeCorpus(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
