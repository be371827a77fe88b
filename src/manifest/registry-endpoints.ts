// Where a bottle's package registries (`registries: [npm, pypi]`) are, read at start from the
// host's own client configuration, so that the user's mirror or proxy settings carry into the
// bottle and no registry's address is written in this project:
// - npm: `npm config get registry`, run with the host's npm (it reads npm_config_registry,
//   the user's and the project's .npmrc, and falls back to npm's own default);
// - pypi: PIP_INDEX_URL, else `python3 -m pip config get global.index-url`, else pip's own
//   built-in index read from the installed pip (with the separate host its files come from).
// A registry whose address cannot be found, or whose URL carries credentials or is not
// http(s), is an error that names the key and how to set the URL: the bottle never guesses.
import spawn, { SubprocessError } from "nano-spawn";
import { AGENT_CA_BUNDLE } from "../contracts/agent.js";
import { BottleError } from "../shared/errors.js";
import { parseAllowHost, parseAllowIp } from "./host-pattern.js";
import type { PackageRegistry } from "./resolved-bottle.js";

export interface RegistryEndpoint {
  registry: PackageRegistry;
  /** The index URL the agent's client is pointed at. */
  url: string;
  /** Where the URL came from, as a person would check it. */
  source: string;
  /** Allowlist patterns of the hosts it is read from, all read-only in the bottle. */
  hosts: string[];
  /** Variables that point the agent's client at it. */
  agentEnv: Record<string, string>;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
}

/** The host as a registry's address is read from it. */
export interface RegistryHost {
  env: Readonly<Record<string, string | undefined>>;
  /** Runs a host program; never throws for a non-zero exit; exit code 127 when it is absent. */
  run(command: string, args: readonly string[]): Promise<CommandResult>;
}

/**
 * Runs host programs with nano-spawn in the current directory (the user's project), with
 * `env` (the CLI's environment, where npm and pip read their settings).
 */
export const hostCommands =
  (env: Readonly<Record<string, string | undefined>>): RegistryHost["run"] =>
  async (command, args) => {
    try {
      const result = await spawn(command, [...args], {
        stdin: "ignore",
        env: Object.fromEntries(
          Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
        ),
      });
      return { exitCode: 0, stdout: result.stdout };
    } catch (error) {
      if (!(error instanceof SubprocessError)) throw error;
      // nano-spawn puts spawn's own error (ENOENT: no such program) in `cause`.
      const cause = (error as { cause?: { code?: unknown } }).cause;
      if (
        error.exitCode === undefined &&
        (cause?.code === "ENOENT" || /ENOENT/.test(error.message))
      ) {
        return { exitCode: 127, stdout: "" };
      }
      return { exitCode: error.exitCode ?? 1, stdout: error.stdout };
    }
  };

/** pip's built-in index and the host its files are served from, printed by pip itself. */
const PIP_DEFAULT_PROBE =
  "from pip._internal.models.index import PyPI; print(PyPI.simple_url); print(PyPI.file_storage_domain)";

/** The endpoints of `registries`, in order; throws a BottleError naming the fix. */
export async function resolveRegistries(
  registries: readonly PackageRegistry[],
  host: RegistryHost,
  bottleLabel: string,
): Promise<RegistryEndpoint[]> {
  const endpoints: RegistryEndpoint[] = [];
  for (const registry of registries) {
    endpoints.push(
      registry === "npm"
        ? await npmEndpoint(host, bottleLabel)
        : await pypiEndpoint(host, bottleLabel),
    );
  }
  return endpoints;
}

async function npmEndpoint(host: RegistryHost, bottleLabel: string): Promise<RegistryEndpoint> {
  const fix =
    "set the registry on the host: npm config set registry URL (or export npm_config_registry=URL), then check it with: npm config get registry";
  const result = await host.run("npm", ["config", "get", "registry"]);
  const url = result.stdout.trim();
  if (result.exitCode !== 0 || url === "" || url === "undefined") {
    throw new BottleError(
      `${bottleLabel}: registries: npm: cannot read the npm registry's address from the host (${result.exitCode === 127 ? "npm is not installed" : "`npm config get registry` gave none"})`,
      { hint: fix },
    );
  }
  const source = "npm config get registry";
  const { hosts } = registryUrl(url, "npm", source, bottleLabel, fix);
  // npm's audit POSTs the dependency tree and would be refused (read-only): off, with the
  // funding and update notices, so an install says only what matters.
  const agentEnv = {
    npm_config_registry: url,
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
  return { registry: "npm", url, source, hosts, agentEnv };
}

async function pypiEndpoint(host: RegistryHost, bottleLabel: string): Promise<RegistryEndpoint> {
  const fix =
    "set the index on the host: export PIP_INDEX_URL=URL (e.g. your mirror's …/simple), or: python3 -m pip config set global.index-url URL";
  const agentEnv = (url: string) => ({ PIP_INDEX_URL: url, PIP_CERT: AGENT_CA_BUNDLE });
  const fromEnv = host.env.PIP_INDEX_URL?.trim();
  if (fromEnv !== undefined && fromEnv !== "") {
    const source = "PIP_INDEX_URL";
    const { hosts } = registryUrl(fromEnv, "pypi", source, bottleLabel, fix);
    return { registry: "pypi", url: fromEnv, source, hosts, agentEnv: agentEnv(fromEnv) };
  }
  const configured = await host.run("python3", ["-m", "pip", "config", "get", "global.index-url"]);
  const url = configured.stdout.trim();
  if (configured.exitCode === 0 && url !== "") {
    const source = "pip config get global.index-url";
    const { hosts } = registryUrl(url, "pypi", source, bottleLabel, fix);
    return { registry: "pypi", url, source, hosts, agentEnv: agentEnv(url) };
  }
  const probe = await host.run("python3", ["-c", PIP_DEFAULT_PROBE]);
  const [index, files] = probe.stdout.trim().split("\n");
  if (probe.exitCode !== 0 || index === undefined || index.trim() === "") {
    throw new BottleError(
      `${bottleLabel}: registries: pypi: cannot find the package index's address: PIP_INDEX_URL is not set, pip has no global.index-url, and ${probe.exitCode === 127 ? "python3 is not installed" : "pip's built-in default could not be read"} on this host`,
      { hint: fix },
    );
  }
  const source = "pip's built-in default";
  const { hosts } = registryUrl(index.trim(), "pypi", source, bottleLabel, fix);
  // The default index serves its files from another host; a mirror serves its own.
  if (files !== undefined && files.trim() !== "") {
    const filesHost = allowPattern(`https://${files.trim()}/`);
    if (filesHost === undefined) {
      throw new BottleError(
        `${bottleLabel}: registries: pypi: pip names "${files.trim()}" as its file host, which is not a host name`,
        { hint: fix },
      );
    }
    if (!hosts.includes(filesHost)) hosts.push(filesHost);
  }
  return { registry: "pypi", url: index.trim(), source, hosts, agentEnv: agentEnv(index.trim()) };
}

/** Checks a registry URL and returns the allowlist pattern of its host. */
function registryUrl(
  text: string,
  registry: PackageRegistry,
  source: string,
  bottleLabel: string,
  fix: string,
): { hosts: string[] } {
  const problem = (what: string) =>
    new BottleError(
      `${bottleLabel}: registries: ${registry}: the URL from ${source}, "${shown(text)}", ${what}`,
      { hint: fix },
    );
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw problem("is not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw problem("is not http(s)");
  if (url.username !== "" || url.password !== "") {
    // Credentials would have to enter the agent; a registry that needs them is not public.
    throw problem(
      "carries credentials; the bottle reads public registries only and never passes registry credentials to the agent",
    );
  }
  const pattern = allowPattern(text);
  if (pattern === undefined) throw problem("does not name a host the allowlist can hold");
  return { hosts: [pattern] };
}

/** "host" for the default port, "host:port" otherwise; undefined when not a host or address. */
function allowPattern(text: string): string | undefined {
  const url = new URL(text);
  const defaultPort = url.port === "" || url.port === (url.protocol === "https:" ? "443" : "80");
  // An IPv6 address is bracketed in a URL, and in an allow pattern only with a port.
  const address = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const pattern = defaultPort ? address : `${url.hostname}:${url.port}`;
  const asName = parseAllowHost(pattern);
  if (asName.ok && asName.value.kind === "host") return asName.value.pattern;
  const asIp = parseAllowIp(pattern);
  return asIp.ok ? asIp.value.pattern : undefined;
}

/** A URL as it may be shown: its userinfo hidden. */
function shown(text: string): string {
  return text.replace(/\/\/[^/@]*@/, "//…@").slice(0, 200);
}
