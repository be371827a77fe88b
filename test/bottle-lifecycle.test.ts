// A real bottle on a real engine, started the way a user starts one: the CLI process,
// `start --exec`, a headless run, and nothing left afterwards.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { slugOf } from "./support/cli/cli-process.js";
import { useTestHome } from "./support/cli/use-test-home.js";
import {
  bridgeGateway,
  containerIp,
  leftoversOf,
  nothingLeft,
} from "./support/docker/docker-state.js";
import { describeWithEngine } from "./support/docker/engine.js";
import { waitFor as waitForValue } from "./support/docker/wait-for.js";

const ROUTE_TOKEN = "cbtest-route-token-9f8e7d6c5b4a";
const TARGET = "cbtest-lifecycle-target";
const TARGET_PORT = 7000;

const BOTTLE = `---
env:
  GREETING: hello from the manifest
egress:
  allow:
    - allowed.test
  routes:
    - host: api.routed.test
      auth: { scheme: Bearer, token_env: CB_TEST_ROUTE_TOKEN }
supervise: false
---
A bottle for the lifecycle tests.
`;

const AGENT = `---
bottle: lifecycle
---
You are a test agent.
`;

describeWithEngine("bottle lifecycle", () => {
  const t = useTestHome(async (home) => {
    await home.writeManifest("bottles", "lifecycle", BOTTLE);
    await home.writeManifest("agents", "lifecycle", AGENT);
  });
  let targetIp: string;

  beforeAll(async () => {
    // A listener outside the bottle that a leak would reach: a container on the default bridge.
    execFileSync("docker", ["rm", "-f", TARGET], { stdio: "ignore" });
    execFileSync("docker", [
      "run",
      "-d",
      "--name",
      TARGET,
      "--entrypoint",
      "node",
      "claude-bottle/node:0.1.0",
      "-e",
      `require("net").createServer((s) => s.end("reached\\n")).listen(${TARGET_PORT})`,
    ]);
    targetIp = execFileSync("docker", ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", TARGET], {
      encoding: "utf8",
    }).trim();
  });

  afterAll(async () => {
    execFileSync("docker", ["rm", "-f", TARGET], { stdio: "ignore" });
  });

  it("runs a headless command inside the bottle and leaves nothing behind", async () => {
    const gateway = bridgeGateway();
    const probe = (host: string, port: number) =>
      `node -e 'const s=require("net").connect(${port},"${host}");s.setTimeout(3000);` +
      `s.on("connect",()=>{console.log("tcp ${host}:${port}=connected");process.exit(0)});` +
      `s.on("timeout",()=>{console.log("tcp ${host}:${port}=timeout");process.exit(0)});` +
      `s.on("error",e=>{console.log("tcp ${host}:${port}="+e.code);process.exit(0)})'`;
    const script = [
      'echo "proxy=$HTTPS_PROXY"',
      'echo "greeting=$GREETING"',
      'echo "whoami=$(id -un)"',
      "echo ---ca---; cat /usr/local/share/ca-certificates/claude-bottle.crt; echo ---end---",
      // The system bundle must contain the bottle CA's first base64 line.
      'echo "bundle-has-ca=$(grep -c -F "$(sed -n 2p /usr/local/share/ca-certificates/claude-bottle.crt)" /etc/ssl/certs/ca-certificates.crt)"',
      // TLS clients can load the bundle with the bottle's CAs in it.
      `python3 -c 'import ssl; ssl.create_default_context(cafile="/etc/ssl/certs/ca-certificates.crt"); print("bundle-loads=ok")'`,
      "curl -sS -m 5 https://unlisted.test/ 2>&1 | head -c 600; echo",
      "echo ---env---; env; tr '\\0' '\\n' < /proc/1/environ; echo ---end---",
      probe(targetIp, TARGET_PORT),
      probe(gateway, 22),
      "exit 7",
    ].join("\n");
    const result = await t.run(["start", "lifecycle", "--yes", "--keep-state", "--exec", script], {
      CB_TEST_ROUTE_TOKEN: ROUTE_TOKEN,
    });
    const slug = slugOf(result.stderr);
    try {
      expect(result.stderr).not.toContain("internal error");
      // The agent program's exit code is the CLI's.
      expect(result.code).toBe(7);
      const out = result.stdout;
      for (const line of [
        "proxy=http://egress:8080\n",
        "greeting=hello from the manifest\n",
        "whoami=agent\n",
        "bundle-has-ca=1\n",
        "bundle-loads=ok\n",
      ]) {
        expect(out).toContain(line);
      }
      // pipelock answers an unlisted host inside a tunnel of its own, with why.
      expect(out).toContain('"unlisted.test:443" is not on this bottle\'s egress allowlist');

      // The agent trusts exactly the bottle's CAs: pipelock's, then egress's.
      const state = join(t.home, "state", slug);
      const pem = async (file: string) =>
        `${(await readFile(join(state, file), "utf8")).trimEnd()}\n`;
      const expectedCa = (await pem("pipelock/ca.pem")) + (await pem("egress/ca.pem"));
      const agentCa = out.split("---ca---\n")[1]?.split("---end---")[0];
      expect(agentCa).toBe(expectedCa);

      // No token value anywhere in the agent's environment, nor in any staged file.
      const env = out.split("---env---\n")[1]?.split("---end---")[0] ?? "";
      expect(env).toContain("HTTPS_PROXY=");
      expect(env).not.toContain(ROUTE_TOKEN);
      const compose = await readFile(join(state, "compose.yaml"), "utf8");
      expect(compose).not.toContain(ROUTE_TOKEN);
      expect(compose).toContain("EGRESS_TOKEN_0");

      // Nothing outside the internal network answers.
      expect(out).toMatch(
        new RegExp(
          `tcp ${targetIp.replaceAll(".", "\\.")}:${TARGET_PORT}=(ENETUNREACH|EHOSTUNREACH|timeout)`,
        ),
      );
      expect(out).toMatch(
        new RegExp(`tcp ${gateway.replaceAll(".", "\\.")}:22=(ENETUNREACH|EHOSTUNREACH|timeout)`),
      );
      expect(out).not.toContain("=connected");

      expect(leftoversOf(slug)).toEqual(nothingLeft());
    } finally {
      await t.run(["cleanup", "--yes", "--all"]);
    }
  });

  it("runs two bottles of the same agent at once, and list shows both", async () => {
    const env = { CB_TEST_ROUTE_TOKEN: ROUTE_TOKEN };
    const first = t.spawn(["start", "lifecycle", "--yes", "--exec", "sleep 300"], env);
    const second = t.spawn(["start", "lifecycle", "--yes", "--exec", "sleep 300"], env);
    try {
      const listed = await waitFor(async () => {
        const list = await t.run(["list", "--json"]);
        const bottles = JSON.parse(list.stdout) as Array<{
          slug: string;
          state: string;
          attached: boolean;
          agent: string;
        }>;
        const running = bottles.filter(
          (b) => b.state === "running" && b.attached && b.agent === "lifecycle",
        );
        return running.length === 2 ? running : null;
      }, "two running bottles in `list --json`");
      const slugs = listed.map((b) => b.slug);
      expect(new Set(slugs).size).toBe(2);
      const table = await t.run(["list"]);
      for (const slug of slugs) expect(table.stdout).toContain(slug);

      // One bottle cannot reach the other's containers.
      const [a, b] = slugs as [string, string];
      const otherAgentIp = containerIp(`claude-bottle-agent-${b}`, `claude-bottle-${b}-internal`);
      const reach = execFileSync(
        "docker",
        [
          "exec",
          `claude-bottle-agent-${a}`,
          "node",
          "-e",
          `const s=require("net").connect(8888,"${otherAgentIp}");s.setTimeout(3000);` +
            `s.on("connect",()=>{console.log("connected");process.exit(0)});` +
            `s.on("timeout",()=>{console.log("timeout");process.exit(0)});s.on("error",e=>{console.log(e.code);process.exit(0)})`,
        ],
        { encoding: "utf8" },
      ).trim();
      expect(["ENETUNREACH", "EHOSTUNREACH", "timeout"]).toContain(reach);

      const stopped = await t.run(["stop", ...slugs]);
      expect(stopped.code).toBe(0);
      await Promise.all([exited(first), exited(second)]);
      for (const slug of slugs) expect(leftoversOf(slug)).toEqual(nothingLeft());
    } finally {
      first.kill("SIGKILL");
      second.kill("SIGKILL");
      await t.run(["cleanup", "--yes", "--all"]);
    }
  });

  it("cleans up after the CLI is killed with SIGKILL", async () => {
    const cli = t.spawn(["start", "lifecycle", "--yes", "--exec", "sleep 300"], {
      CB_TEST_ROUTE_TOKEN: ROUTE_TOKEN,
    });
    const slug = await waitFor(async () => {
      const bottles = JSON.parse((await t.run(["list", "--json"])).stdout) as Array<{
        slug: string;
        state: string;
        attached: boolean;
      }>;
      return bottles.find((b) => b.state === "running" && b.attached)?.slug ?? null;
    }, "a running bottle");
    // Killed after the program is attached: before, the start guard removes the bottle itself.
    await waitFor(
      async () => (cli.output().stderr.includes("running: sleep 300") ? true : null),
      "the program to be attached",
    );
    cli.kill("SIGKILL");
    await exited(cli);
    expect(leftoversOf(slug).containers.length).toBeGreaterThan(0);

    const before = JSON.parse((await t.run(["list", "--json"])).stdout) as Array<{
      slug: string;
      attached: boolean;
    }>;
    expect(before.find((b) => b.slug === slug)?.attached).toBe(false);

    const cleanup = await t.run(["cleanup", "--yes"]);
    expect(cleanup.code).toBe(0);
    expect(cleanup.stderr).toContain(`removed ${slug}`);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
    expect(JSON.parse((await t.run(["list", "--json"])).stdout)).toEqual([]);
  });
});

/** Polls `probe` once a second until it has a value, for up to four minutes. */
const waitFor = <T>(probe: () => Promise<T | null>, what: string, timeoutMs = 240_000) =>
  waitForValue(what, probe, timeoutMs, 1000);

/** "exit", not "close": a killed CLI's orphaned `docker exec` keeps its pipes open. */
function exited(child: import("node:child_process").ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.on("exit", () => resolve()));
}
