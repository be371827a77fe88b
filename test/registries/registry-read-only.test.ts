// A bottle with `registries: [npm, pypi]` against stand-in registries under placeholder names:
// the addresses come from the host's own settings (npm_config_registry, PIP_INDEX_URL), the
// stand-ins' CA through CLAUDE_BOTTLE_UPSTREAM_CA. Inside the agent, as the agent user, npm
// and pip install a tiny package built here; a write (PUT, POST, DELETE) is refused by
// pipelock with a 403 that says why; the stand-in receives only GET and HEAD.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerCli } from "../../src/backend/engine/docker-client.js";
import { startHttpsStub, writeStubCerts } from "../../src/demo/demo-stubs.js";
import { makeTestHome, type TestHome, writeAgentBottle } from "../support/cli/cli-process.js";
import {
  type RunningBottle,
  removeBottleStandIns,
  startBottle,
} from "../support/docker/bottle-harness.js";
import { makeUpstreamCa, type UpstreamCa } from "../support/tls/test-ca.js";

const run = promisify(execFile);
const NPM_HOST = "registry.npm.test";
const PYPI_HOST = "pypi.pkg.test";
const NPM_URL = `https://${NPM_HOST}/`;
const PYPI_URL = `https://${PYPI_HOST}/simple/`;
const PKG = "cbtest-tiny";
const WHEEL = "cbtest_tinypy-1.0.0-py3-none-any.whl";
const SERVER = fileURLToPath(
  new URL("../support/standins/package-registry-standin.mjs", import.meta.url),
);

/** The npm tarball of PKG: package/package.json and package/index.js, gzipped tar. */
async function buildTarball(dir: string): Promise<Buffer> {
  const src = join(dir, "src");
  await mkdir(join(src, "package"), { recursive: true });
  await writeFile(
    join(src, "package", "package.json"),
    JSON.stringify({ name: PKG, version: "1.0.0", main: "index.js" }),
  );
  await writeFile(join(src, "package", "index.js"), 'module.exports = "tiny from the stand-in";\n');
  const file = join(dir, "tiny.tgz");
  await run("tar", ["-czf", file, "-C", src, "package"]);
  return readFile(file);
}

/** A pure-Python wheel (a zip) of module cbtest_tinypy, built with the host's python3. */
async function buildWheel(dir: string): Promise<Buffer> {
  const file = join(dir, WHEEL);
  const script = `
import zipfile, hashlib, base64, sys
files = {
  "cbtest_tinypy/__init__.py": "WORD = 'tiny from the stand-in'\\n",
  "cbtest_tinypy-1.0.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: cbtest-tinypy\\nVersion: 1.0.0\\n",
  "cbtest_tinypy-1.0.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
def digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).rstrip(b"=").decode()
record = "".join(f"{name},{digest(data)},{len(data.encode())}\\n" for name, data in files.items())
record += "cbtest_tinypy-1.0.0.dist-info/RECORD,,\\n"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for name, data in files.items():
        z.writestr(name, data)
    z.writestr("cbtest_tinypy-1.0.0.dist-info/RECORD", record)
`;
  await run("python3", ["-c", script, file]);
  return readFile(file);
}

interface Seen {
  method: string;
  path: string;
  host: string | null;
}

describe("registries: npm and pypi, read-only, in a real bottle", () => {
  let t: TestHome;
  let ca: UpstreamCa;
  let bottle: RunningBottle;
  let dir: string;
  let standIn: string;
  let startOutput = "";

  const seen = async (): Promise<Seen[]> => {
    const { stdout } = await run("docker", [
      "exec",
      standIn,
      "sh",
      "-c",
      "cat /tmp/requests.jsonl 2>/dev/null || true",
    ]);
    return stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Seen);
  };

  beforeAll(async () => {
    t = await makeTestHome();
    ca = await makeUpstreamCa();
    dir = await mkdtemp(join(tmpdir(), "cb-registry-"));
    const tarball = await buildTarball(dir);
    const wheel = await buildWheel(dir);
    const tarballPath = `/${PKG}/-/${PKG}-1.0.0.tgz`;
    const packument = {
      name: PKG,
      "dist-tags": { latest: "1.0.0" },
      versions: {
        "1.0.0": {
          name: PKG,
          version: "1.0.0",
          main: "index.js",
          dist: {
            tarball: `https://${NPM_HOST}${tarballPath}`,
            shasum: createHash("sha1").update(tarball).digest("hex"),
            integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
          },
        },
      },
    };
    const wheelSha = createHash("sha256").update(wheel).digest("hex");
    const simple = `<!DOCTYPE html><html><body><a href="https://${PYPI_HOST}/files/${WHEEL}#sha256=${wheelSha}">${WHEEL}</a></body></html>\n`;
    await writeFile(join(dir, "packument.json"), JSON.stringify(packument));
    await writeFile(join(dir, "package.tgz"), tarball);
    await writeFile(join(dir, "simple.html"), simple);
    await writeFile(join(dir, "package.whl"), wheel);
    await writeFile(
      join(dir, "routes.json"),
      JSON.stringify({
        [`/${PKG}`]: { file: "packument.json", type: "application/json" },
        [tarballPath]: { file: "package.tgz", type: "application/octet-stream" },
        "/simple/cbtest-tinypy/": { file: "simple.html", type: "text/html" },
        [`/files/${WHEEL}`]: { file: "package.whl", type: "application/octet-stream" },
      }),
    );
    await writeAgentBottle(t, "reg", "registries: [npm, pypi]\nsupervise: false\n");
    bottle = await startBottle(t, "reg", {
      // The host's own settings say where the registries are; nothing in the manifest does.
      npm_config_registry: NPM_URL,
      PIP_INDEX_URL: PYPI_URL,
      CLAUDE_BOTTLE_UPSTREAM_CA: ca.caFile,
    });
    const certsFile = await writeStubCerts(dir, ca.ca, [NPM_HOST, PYPI_HOST], new Date());
    standIn = `cbtest-registry-${bottle.slug}`;
    await startHttpsStub(new DockerCli(), {
      name: standIn,
      network: bottle.egressNetwork,
      hostnames: [NPM_HOST, PYPI_HOST],
      serverScript: SERVER,
      certsFile,
      labels: { "dev.claude-bottle.test": "1", "dev.claude-bottle.test.bottle": bottle.slug },
    });
    const preflight = await t.run(["start", "reg", "--dry-run"], {
      npm_config_registry: NPM_URL,
      PIP_INDEX_URL: PYPI_URL,
    });
    startOutput = `${preflight.stdout}${preflight.stderr}`;
  });

  afterAll(async () => {
    if (bottle !== undefined) {
      await removeBottleStandIns(bottle);
      await bottle.stop();
    }
    await ca?.dispose();
    await t?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("the preflight names each registry, where its address came from, and read-only", () => {
    expect(startOutput).toContain(`registry  npm ${NPM_URL} (from npm config get registry)`);
    expect(startOutput).toContain(`registry  pypi ${PYPI_URL} (from PIP_INDEX_URL)`);
    expect(startOutput).toContain(`read-only: GET and HEAD to ${NPM_HOST}`);
  });

  it("the agent's clients are there and pointed at the host's registries", async () => {
    const r = await bottle.exec(
      'echo "$npm_config_registry $PIP_INDEX_URL"; npm --version; pip --version; cc --version | head -1; git --version; python3 -m venv --help >/dev/null && echo venv',
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${NPM_URL} ${PYPI_URL}`);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+$/m);
    expect(r.stdout).toMatch(/^pip \d+/m);
    expect(r.stdout).toMatch(/^git version /m);
    expect(r.stdout).toContain("venv");
  });

  it("npm install of a package from the registry works as the agent user", async () => {
    const r = await bottle.exec(
      `mkdir -p ~/npmtry && cd ~/npmtry && npm init -y >/dev/null && npm install ${PKG} && node -p 'require("${PKG}")'`,
      { timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("tiny from the stand-in");
    const paths = (await seen()).map((s) => `${s.method} ${s.path}`);
    expect(paths).toContain(`GET /${PKG}`);
    expect(paths).toContain(`GET /${PKG}/-/${PKG}-1.0.0.tgz`);
  });

  it("pip install into a venv from the index works as the agent user", async () => {
    const r = await bottle.exec(
      "python3 -m venv ~/venv && ~/venv/bin/pip install --disable-pip-version-check cbtest-tinypy && ~/venv/bin/python -c 'import cbtest_tinypy; print(cbtest_tinypy.WORD)'",
      { timeoutMs: 180_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("tiny from the stand-in");
    const paths = (await seen()).map((s) => `${s.method} ${s.path}`);
    expect(paths).toContain("GET /simple/cbtest-tinypy/");
    expect(paths).toContain(`GET /files/${WHEEL}`);
  });

  it("a write is refused with a 403 that says why, and npm publish fails", async () => {
    for (const [method, url] of [
      ["PUT", `${NPM_URL}${PKG}`],
      ["POST", `${NPM_URL}-/npm/v1/security/advisories/bulk`],
      ["DELETE", `${NPM_URL}${PKG}/-rev/1`],
      ["POST", `https://${PYPI_HOST}/legacy/`],
    ]) {
      const r = await bottle.exec(
        `curl -sS -X ${method} -H 'content-type: application/json' --data '{}' -w '\\n%{http_code}' '${url}'`,
      );
      const lines = r.stdout.trim().split("\n");
      expect(lines.at(-1), `${method} ${url}`).toBe("403");
      expect(r.stdout).toContain("is read-only in this bottle");
      expect(r.stdout).toContain(`this is a ${method} request`);
    }
    const publish = await bottle.exec(
      `cd ~/npmtry && npm pkg set name=cbtest-mine version=0.0.1 && echo '//${NPM_HOST}/:_authToken=placeholder' > ~/.npmrc && npm publish 2>&1`,
      { timeoutMs: 120_000 },
    );
    expect(publish.code).not.toBe(0);
    expect(publish.stdout).toMatch(/403/);
  });

  it("the stand-in received only GET and HEAD, and pipelock logged each refusal", async () => {
    const methods = new Set((await seen()).map((s) => s.method));
    expect(methods.size).toBeGreaterThan(0);
    expect([...methods].filter((m) => m !== "GET" && m !== "HEAD")).toEqual([]);
    const refused = (await bottle.pipelockAudit()).filter((e) => e.rule === "read-only-host");
    expect(refused.map((e) => e.method)).toEqual(expect.arrayContaining(["PUT", "POST", "DELETE"]));
    expect(refused.every((e) => e.status === 403)).toBe(true);
  });
});
