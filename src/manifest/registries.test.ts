import { describe, expect, it } from "vitest";
import { AT, resolvedAgent } from "../../test/support/fixtures/agent-fixture.js";
import {
  BOTTLES as B,
  bottleError,
  useUserHomes,
} from "../../test/support/fixtures/user-home-fixture.js";
import { blueprintOptions } from "../../test/support/unit/blueprint-options.js";
import { planBottle } from "../core/bottle-blueprint.js";
import { PipelockConfigSchema } from "../sidecars/pipelock/config.js";
import { loadBottle } from "./load-bottle.js";
import {
  type CommandResult,
  hostCommands,
  type RegistryHost,
  resolveRegistries,
} from "./registry-endpoints.js";

const homes = useUserHomes();

describe("registries: in a bottle manifest", () => {
  it("is read, and unions through extends in the order first named", async () => {
    const options = await homes.make({
      [`${B}/base.md`]: "---\nregistries: [pypi]\n---\n",
      [`${B}/dev.md`]: "---\nextends: base\nregistries: [npm, pypi, npm]\n---\n",
    });
    expect((await loadBottle("dev", options)).registries).toEqual(["pypi", "npm"]);
    expect((await loadBottle("base", options)).registries).toEqual(["pypi"]);
  });

  it("is none when no layer names one", async () => {
    const options = await homes.make({ [`${B}/dev.md`]: "---\nsupervise: false\n---\n" });
    expect((await loadBottle("dev", options)).registries).toEqual([]);
  });

  it("refuses an unknown registry with did-you-mean, and an empty list", async () => {
    const unknown = await bottleError(homes, { [`${B}/dev.md`]: "---\nregistries: [nmp]\n---\n" });
    expect(unknown.message).toBe(
      '~/.claude-bottle/bottles/dev.md:2:14: registries[0]: "nmp" is not one of npm, pypi (did you mean "npm"?)',
    );
    const empty = await bottleError(homes, { [`${B}/dev.md`]: "---\nregistries: []\n---\n" });
    expect(empty.message).toContain(
      "registries: must list at least one entry, or leave the key out",
    );
    const scalar = await bottleError(homes, { [`${B}/dev.md`]: "---\nregistries: npm\n---\n" });
    expect(scalar.message).toContain("registries: expected a list");
  });
});

/** A host whose programs answer from a table: "npm config get registry" → result. */
function fakeHost(
  answers: Record<string, CommandResult>,
  env: Record<string, string> = {},
): RegistryHost & { calls: string[] } {
  const calls: string[] = [];
  return {
    env,
    calls,
    async run(command, args) {
      const line = [command, ...args].join(" ");
      calls.push(line);
      return answers[line] ?? { exitCode: 127, stdout: "" };
    },
  };
}

const NPM_GET = "npm config get registry";
const PIP_GET = "python3 -m pip config get global.index-url";
const PIP_PROBE_PREFIX = "python3 -c from pip._internal.models.index import PyPI";

function withProbe(stdout: string, exitCode = 0): Record<string, CommandResult> {
  const line = `python3 -c from pip._internal.models.index import PyPI; print(PyPI.simple_url); print(PyPI.file_storage_domain)`;
  expect(line.startsWith(PIP_PROBE_PREFIX)).toBe(true);
  return { [line]: { exitCode, stdout } };
}

describe("resolveRegistries: addresses come from the host's own settings", () => {
  it("npm: what the host's npm says, allowed by host (and port when not the default)", async () => {
    const host = fakeHost({ [NPM_GET]: { exitCode: 0, stdout: "https://registry.npm.test/\n" } });
    expect(await resolveRegistries(["npm"], host, "dev.md")).toEqual([
      {
        registry: "npm",
        url: "https://registry.npm.test/",
        source: "npm config get registry",
        hosts: ["registry.npm.test"],
        agentEnv: {
          npm_config_registry: "https://registry.npm.test/",
          npm_config_audit: "false",
          npm_config_fund: "false",
          npm_config_update_notifier: "false",
        },
      },
    ]);
    const ported = fakeHost({
      [NPM_GET]: { exitCode: 0, stdout: "https://mirror.pkg.test:8443/npm/\n" },
    });
    expect((await resolveRegistries(["npm"], ported, "dev.md"))[0]?.hosts).toEqual([
      "mirror.pkg.test:8443",
    ]);
    for (const [url, pattern] of [
      ["http://192.0.2.10/", "192.0.2.10"],
      ["https://[2001:db8::10]/", "2001:db8::10"],
      ["https://[2001:db8::10]:8443/npm/", "[2001:db8::10]:8443"],
    ]) {
      const byAddress = fakeHost({ [NPM_GET]: { exitCode: 0, stdout: `${url}\n` } });
      expect((await resolveRegistries(["npm"], byAddress, "dev.md"))[0]?.hosts, url).toEqual([
        pattern,
      ]);
    }
  });

  it("pypi: PIP_INDEX_URL first, without asking pip", async () => {
    const host = fakeHost({}, { PIP_INDEX_URL: "https://pypi.pkg.test/simple" });
    const [pypi] = await resolveRegistries(["pypi"], host, "dev.md");
    expect(pypi).toMatchObject({
      url: "https://pypi.pkg.test/simple",
      source: "PIP_INDEX_URL",
      hosts: ["pypi.pkg.test"],
      agentEnv: {
        PIP_INDEX_URL: "https://pypi.pkg.test/simple",
        PIP_CERT: "/etc/ssl/certs/ca-certificates.crt",
      },
    });
    expect(host.calls).toEqual([]);
  });

  it("pypi: then pip's configured index, then pip's built-in default with its file host", async () => {
    const configured = fakeHost({
      [PIP_GET]: { exitCode: 0, stdout: "https://mirror.pkg.test/pypi/simple\n" },
    });
    expect(await resolveRegistries(["pypi"], configured, "dev.md")).toMatchObject([
      { source: "pip config get global.index-url", hosts: ["mirror.pkg.test"] },
    ]);
    const builtIn = fakeHost({
      [PIP_GET]: { exitCode: 1, stdout: "" },
      ...withProbe("https://pypi.pkg.test/simple/\nfiles.pkg.test\n"),
    });
    expect(await resolveRegistries(["pypi"], builtIn, "dev.md")).toMatchObject([
      {
        url: "https://pypi.pkg.test/simple/",
        source: "pip's built-in default",
        hosts: ["pypi.pkg.test", "files.pkg.test"],
      },
    ]);
  });

  it("fails closed with the key and the fix when no address can be found", async () => {
    const noPython = fakeHost({});
    await expect(resolveRegistries(["pypi"], noPython, "dev.md")).rejects.toMatchObject({
      message:
        "dev.md: registries: pypi: cannot find the package index's address: PIP_INDEX_URL is not set, pip has no global.index-url, and python3 is not installed on this host",
      hint: expect.stringContaining("export PIP_INDEX_URL=URL"),
    });
    const noNpm = fakeHost({});
    await expect(resolveRegistries(["npm"], noNpm, "dev.md")).rejects.toMatchObject({
      message:
        "dev.md: registries: npm: cannot read the npm registry's address from the host (npm is not installed)",
      hint: expect.stringContaining("npm config set registry URL"),
    });
  });

  it("refuses a URL with credentials (never shown), or one that is not http(s)", async () => {
    const creds = fakeHost({}, { PIP_INDEX_URL: "https://user:s3cret@pypi.pkg.test/simple" });
    const error = await resolveRegistries(["pypi"], creds, "dev.md").catch((e: Error) => e);
    expect(String((error as Error).message)).toContain("carries credentials");
    expect(String((error as Error).message)).not.toContain("s3cret");
    const ftp = fakeHost({ [NPM_GET]: { exitCode: 0, stdout: "ftp://registry.npm.test/\n" } });
    await expect(resolveRegistries(["npm"], ftp, "dev.md")).rejects.toThrow(
      'dev.md: registries: npm: the URL from npm config get registry, "ftp://registry.npm.test/", is not http(s)',
    );
    const junk = fakeHost({ [NPM_GET]: { exitCode: 0, stdout: "not a url\n" } });
    await expect(resolveRegistries(["npm"], junk, "dev.md")).rejects.toThrow("is not a URL");
  });
});

describe("resolveRegistries with the host's real npm", () => {
  it("reads npm_config_registry from the environment it is given, and says when a program is missing", async () => {
    const env = { ...process.env, npm_config_registry: "https://registry.npm.test/" };
    const [npm] = await resolveRegistries(["npm"], { env, run: hostCommands(env) }, "dev.md");
    expect(npm?.url).toBe("https://registry.npm.test/");
    expect(npm?.hosts).toEqual(["registry.npm.test"]);
    expect(await hostCommands(env)("cbtest-no-such-program", [])).toEqual({
      exitCode: 127,
      stdout: "",
    });
  });
});

describe("planBottle with registries", () => {
  const options = blueprintOptions();
  const npm = {
    registry: "npm" as const,
    url: "https://registry.npm.test/",
    source: "npm config get registry",
    hosts: ["registry.npm.test"],
    agentEnv: { npm_config_registry: "https://registry.npm.test/" },
  };

  it("allows the registry hosts read-only and points the agent's client at them", () => {
    const agent = resolvedAgent({
      registries: ["npm"],
      env: {
        npm_config_registry: { kind: "literal", value: "https://elsewhere.test/", declaredAt: AT },
      },
    });
    const bp = planBottle(agent, { ...options, registries: [npm] });
    expect(bp.pipelockPolicy.allow).toEqual(["registry.npm.test"]);
    expect(bp.pipelockPolicy.readOnly).toEqual(["registry.npm.test"]);
    // The client goes where the allowlist lets it: the registry's value wins over env.
    expect(bp.agentEnvLiterals.npm_config_registry).toBe("https://registry.npm.test/");
    expect(bp.registries).toEqual([npm]);
    const parsed = PipelockConfigSchema.parse(bp.pipelockPolicy);
    expect(parsed.readOnly).toEqual(["registry.npm.test"]);
  });

  it("has no read-only hosts without registries, and refuses endpoints that do not match the bottle", () => {
    const bp = planBottle(resolvedAgent(), options);
    expect(bp.pipelockPolicy.readOnly).toEqual([]);
    expect(() => planBottle(resolvedAgent({ registries: ["npm"] }), options)).toThrow(
      "planBottle: registries  for a bottle naming npm",
    );
  });
});
