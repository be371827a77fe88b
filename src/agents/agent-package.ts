// The host's cache of agent programs: one unpacked npm package per provider, version and
// architecture, fetched once with the host's npm and mounted read-only into every bottle
// that runs it. A package enters the cache only whole: it is fetched and unpacked in a
// temporary directory beside its place and renamed there last, after its integrity was
// checked against the registry's (or the pinned) sha512, so a killed fetch leaves no half
// package. Never runs a package's scripts, never runs the program on the host.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { AGENT_VERSION } from "../manifest/bottle-schema.js";
import type { AgentProvider } from "../manifest/resolved-bottle.js";
import { BottleError, InputError } from "../shared/errors.js";
import type { HostArch } from "./agent-provider.js";
import { NPM_FIX_HINT, NpmCli, type NpmClient, npmFailure } from "./npm-client.js";
import { agentProviderModule, hostArch } from "./registry.js";
import { untarPackage } from "./untar.js";

/** A cached package: what a bottle mounts and runs. */
export interface AgentPackage {
  provider: AgentProvider;
  version: string;
  arch: HostArch;
  /** The npm spec it was fetched as. */
  spec: string;
  /** The unpacked package on the host (mounted at AGENT_PACKAGE_IN_CONTAINER). */
  dir: string;
  /** The program on the host: `dir`/`relativeBinary`. */
  binary: string;
  relativeBinary: string;
}

export interface AgentPackageQuery {
  provider: AgentProvider;
  /** Default: the provider's pinned version. */
  version?: string;
  /** The claude-bottle home; the cache is its cache/agents/ unless CLAUDE_BOTTLE_AGENT_CACHE. */
  home: string;
  /** Reads CLAUDE_BOTTLE_AGENT_CACHE. */
  env?: NodeJS.ProcessEnv;
  /** Default: this host's. */
  arch?: HostArch;
}

export interface EnsureAgentPackageOptions extends AgentPackageQuery {
  progress: (line: string) => void;
  npm?: NpmClient;
  signal?: AbortSignal;
  /** How often a long fetch says it is still going; default 15 s. */
  tickMs?: number;
}

/** What the cache records beside each package; its presence means the package is whole. */
interface CacheRecord {
  spec: string;
  integrity: string;
  binary: string;
}

const RECORD_FILE = "claude-bottle-package.json";
/** Above the largest package (~430 MB unpacked) with room to grow; a bomb stops here. */
const MAX_UNPACKED_BYTES = 2 * 1024 ** 3;

/** CLAUDE_BOTTLE_AGENT_CACHE (absolute), else <home>/cache/agents. */
export function agentCacheRoot(home: string, env: NodeJS.ProcessEnv = {}): string {
  const override = env.CLAUDE_BOTTLE_AGENT_CACHE;
  if (override === undefined || override === "") return join(home, "cache", "agents");
  if (!isAbsolute(override)) {
    throw new InputError(`CLAUDE_BOTTLE_AGENT_CACHE must be an absolute path, got "${override}"`, {
      hint: "set it to an absolute directory, or unset it to use ~/.claude-bottle/cache/agents",
    });
  }
  return override;
}

/** Where one package lives in the cache: <root>/<provider>/<version>-linux-<arch>. */
export function agentPackageDir(query: AgentPackageQuery): string {
  const { version, arch } = resolveQuery(query);
  return join(agentCacheRoot(query.home, query.env), query.provider, `${version}-linux-${arch}`);
}

function resolveQuery(query: AgentPackageQuery) {
  const module = agentProviderModule(query.provider);
  const version = query.version ?? module.defaultVersion;
  if (!AGENT_VERSION.test(version)) {
    throw new InputError(`"${version}" is not a version of ${module.title}`, {
      hint: "give the npm package's version, e.g. 1.2.3",
    });
  }
  const arch = query.arch ?? hostArch();
  return { module, version, arch, source: module.packageFor(version, arch) };
}

/** The versions of a provider wholly in the cache for this host's architecture, sorted. */
export async function cachedAgentVersions(
  query: Omit<AgentPackageQuery, "version">,
): Promise<string[]> {
  const arch = query.arch ?? hostArch();
  const suffix = `-linux-${arch}`;
  let names: string[];
  try {
    names = await readdir(join(agentCacheRoot(query.home, query.env), query.provider));
  } catch {
    return [];
  }
  const versions: string[] = [];
  for (const name of names) {
    if (!name.endsWith(suffix)) continue;
    const version = name.slice(0, -suffix.length);
    if (!AGENT_VERSION.test(version)) continue;
    if ((await findAgentPackage({ ...query, version, arch })) !== null) versions.push(version);
  }
  return versions.sort();
}

/** The cached package, or null when it is not (wholly) in the cache. Never fetches. */
export async function findAgentPackage(query: AgentPackageQuery): Promise<AgentPackage | null> {
  const { version, arch, source } = resolveQuery(query);
  const dir = agentPackageDir(query);
  let record: CacheRecord;
  try {
    record = JSON.parse(await readFile(join(dir, RECORD_FILE), "utf8")) as CacheRecord;
  } catch {
    return null;
  }
  if (record.spec !== source.spec || record.binary !== source.binary) return null;
  const packageDir = join(dir, "package");
  // Whoever can write here chooses the program every bottle runs: refuse, never skip.
  const root = agentCacheRoot(query.home, query.env);
  for (const path of [root, join(dir, ".."), dir, packageDir]) await assertOwnDir(path);
  const binary = join(packageDir, source.binary);
  try {
    if (!(await stat(binary)).isFile()) return null;
  } catch {
    return null;
  }
  return {
    provider: query.provider,
    version,
    arch,
    spec: source.spec,
    dir: packageDir,
    binary,
    relativeBinary: source.binary,
  };
}

/**
 * The package from the cache, fetching it first with the host's npm when it is missing.
 * Refuses a tarball whose sha512 is not the registry's (or the pinned one), and one that
 * holds anything but plain files and directories.
 */
export async function ensureAgentPackage(
  options: EnsureAgentPackageOptions,
): Promise<AgentPackage> {
  const cached = await findAgentPackage(options);
  if (cached !== null) return cached;
  const { module, version, source } = resolveQuery(options);
  const npm = options.npm ?? new NpmCli();
  const dir = agentPackageDir(options);
  const parent = join(dir, "..");
  // A umask of 002 would leave the new directories group-writable, which findAgentPackage refuses.
  const created = await mkdir(parent, { recursive: true, mode: 0o755 });
  if (created !== undefined) {
    for (let d = parent; d.length >= created.length; d = dirname(d)) await chmod(d, 0o755);
  }
  const work = await mkdtemp(join(parent, `.fetch-${version}-`));
  await chmod(work, 0o755);
  const run = (args: string[]) =>
    npm.run(args, { cwd: work, ...(options.signal ? { signal: options.signal } : {}) });
  const started = Date.now();
  const tick = setInterval(
    () =>
      options.progress(
        `still fetching ${source.spec} (${Math.round((Date.now() - started) / 1000)}s)…`,
      ),
    options.tickMs ?? 15_000,
  );
  try {
    const expected = source.integrity ?? (await registryIntegrity(run, source.spec));
    options.progress(
      `fetching ${module.title} ${version} (${source.spec}) with npm pack; large packages take a few minutes…`,
    );
    const packed = await run(["pack", source.spec, "--json", "--ignore-scripts"]);
    if (packed.exitCode !== 0) throw npmFailure(`npm pack ${source.spec}`, packed);
    const tarball = join(work, packedFilename(packed.stdout, source.spec));
    const actual = await sha512Of(tarball);
    if (!sha512Matches(expected, actual)) {
      throw new BottleError(
        `refused ${source.spec}: its sha512 is ${actual}, but the ${source.integrity === undefined ? "registry" : "pinned"} integrity is ${expected}`,
        {
          hint: "the registry (or a proxy) served other bytes than it promised; check `npm config get registry` and fetch again",
        },
      );
    }
    options.progress(`unpacking ${source.spec}…`);
    const unpacked = join(work, "package");
    await mkdir(unpacked, { mode: 0o755 });
    await untarPackage(tarball, unpacked, { stripRoot: "package", maxBytes: MAX_UNPACKED_BYTES });
    for (const entry of await readdir(unpacked, { withFileTypes: true, recursive: true })) {
      if (entry.isDirectory()) await chmod(join(entry.parentPath, entry.name), 0o755);
    }
    await chmod(unpacked, 0o755);
    await rm(tarball, { force: true });
    const binary = join(unpacked, source.binary);
    if (!(await stat(binary).catch(() => null))?.isFile()) {
      throw new BottleError(`${source.spec} holds no ${source.binary}`, {
        hint: `this version may lay out its package differently; pin another version in the bottle's agent: {provider: ${options.provider}, version: …}`,
      });
    }
    const record: CacheRecord = { spec: source.spec, integrity: expected, binary: source.binary };
    await writeFile(join(work, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`, {
      mode: 0o644,
    });
    try {
      await rename(work, dir);
    } catch (error) {
      // Another start filled it first: theirs is as good as ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
    }
    const found = await findAgentPackage(options);
    if (found === null) throw new BottleError(`${dir} is not a whole package after fetching`);
    options.progress(
      `cached ${module.title} ${version} in ${dir} (${Math.round((Date.now() - started) / 1000)}s)`,
    );
    return found;
  } finally {
    clearInterval(tick);
    await rm(work, { recursive: true, force: true });
  }
}

async function registryIntegrity(
  run: (args: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>,
  spec: string,
): Promise<string> {
  const viewed = await run(["view", spec, "dist.integrity", "--json"]);
  if (viewed.exitCode !== 0) throw npmFailure(`npm view ${spec}`, viewed);
  let value: unknown;
  try {
    value = JSON.parse(viewed.stdout);
  } catch {
    value = undefined;
  }
  if (typeof value !== "string" || !/\bsha512-/.test(value)) {
    throw new BottleError(
      `npm view ${spec} gave no sha512 integrity to check the package against`,
      {
        hint: NPM_FIX_HINT,
      },
    );
  }
  return value;
}

async function assertOwnDir(path: string): Promise<void> {
  const st = await stat(path);
  const uid = typeof process.getuid === "function" ? process.getuid() : st.uid;
  if ((st.mode & 0o022) !== 0 || (st.uid !== uid && st.uid !== 0)) {
    throw new BottleError(
      `${path} is writable by ${st.uid !== uid && st.uid !== 0 ? "another user" : "group or others"}; the agent program there cannot be trusted`,
      { hint: `run: chmod go-w ${path} (and check who changed it), or remove it to fetch again` },
    );
  }
}

/** The tarball's file name from `npm pack --json`. */
export function packedFilename(stdout: string, spec: string): string {
  let parsed: unknown;
  try {
    // npm may print lifecycle noise before the JSON array.
    parsed = JSON.parse(stdout.slice(Math.max(0, stdout.indexOf("["))));
  } catch {
    parsed = undefined;
  }
  const filename = Array.isArray(parsed)
    ? (parsed[0] as { filename?: unknown } | undefined)?.filename
    : undefined;
  if (typeof filename !== "string" || !/^[A-Za-z0-9@._-]+\.tgz$/.test(filename)) {
    throw new BottleError(`npm pack ${spec} did not say which file it wrote`, {
      hint: NPM_FIX_HINT,
    });
  }
  return filename;
}

async function sha512Of(path: string): Promise<string> {
  const hash = createHash("sha512");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest("base64")}`;
}

/** An SRI string ("sha512-… sha1-…") lists `actual` among its sha512 hashes. */
export function sha512Matches(integrity: string, actual: string): boolean {
  return integrity
    .split(/\s+/)
    .filter((h) => h.startsWith("sha512-"))
    .some((h) => h.split("?")[0] === actual);
}
