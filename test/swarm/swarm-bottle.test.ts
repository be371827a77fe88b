// A real bottle on a three-node Docker Swarm, started as a user would (`start --backend
// swarm`): the egress plane through pipelock and egress on the node it is pinned to, its route
// token a Swarm secret that no inspect output shows, the agent cut off from the nodes and the
// outside, list and stop finding it from the manager, and a killed agent task failing closed.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { stringify } from "yaml";
import { BOTTLE_SLUG_LABEL } from "../../src/contracts/agent.js";
import { writeStubCerts } from "../../src/demo/demo-stubs.js";
import { VERSION } from "../../src/shared/version.js";
import { startDashboard } from "../dashboard/dashboard-process.js";
import {
  type CliResult,
  makeTestHome,
  PACKAGE_ROOT,
  slugOf,
  type TestHome,
  writeAgentBottle,
} from "../support/cli/cli-process.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  buildImage,
  SSHD_IMAGE,
  type SshKeyPair,
  sshKeyPairs,
} from "../support/docker/git-gate-docker.js";
import { waitFor } from "../support/docker/wait-for.js";
import { FAKE_CREDENTIALS } from "../support/fixtures/fake-credentials.js";
import { bundleForNode } from "../support/sidecars/bundle.js";
import { runDocker } from "../support/swarm/docker-process.js";
import {
  labelNodeEngines,
  removeSwarm,
  type StartedSwarm,
  startSwarm,
} from "../support/swarm/swarm-fixture.js";
import {
  execInTask,
  type RunningTask,
  runningTask,
  serviceTasks,
  tcpReach,
} from "../support/swarm/swarm-tasks.js";
import { makeUpstreamCa, type UpstreamCa } from "../support/tls/test-ca.js";

const ALLOWED = "allowed.example.test";
const ROUTE_HOST = "api.example.test";
const UNLISTED = "unlisted.example.test";
/** Not on the allowlist until a human approves the agent's request for it. */
const ADDED = "added.example.test";
const CLIENT_IN_AGENT = "/tmp/cb-mcp-client.mjs";
const GIT_HOST = "git.upstream.test";
const APP_URL = `ssh://git@${GIT_HOST}/srv/git/app.git`;
const ROUTE_TOKEN = "cbtest-swarm-route-5e0a41c9d7b2";
/** A host value the manifest forwards to the agent: the agent's, and a secret DLP knows. */
const KNOWN = "cbtest-swarm-known-8c31f0a2d94e";
/** What the start CLI runs in the agent: it notes the forwarded variable it was given. */
const START_EXEC = "printenv CB_SWARM_KNOWN > /tmp/forwarded.txt; exec sleep 3600";
const NODE_IMAGE = `claude-bottle/node:${VERSION}`;

describeWithEngine("a bottle on a three-node swarm", () => {
  let swarm: StartedSwarm;
  let t: TestHome;
  let ca: UpstreamCa;
  let standinDir: string;
  let cli: ReturnType<TestHome["spawn"]>;
  let slug: string;
  let project: string;
  let agent: RunningTask;
  let standin: RunningTask;
  let gitUpstream: RunningTask;
  let keyDir: string;
  let identity: SshKeyPair;
  let hostKey: SshKeyPair;

  const env = () => ({
    CLAUDE_BOTTLE_BACKEND: "swarm",
    CLAUDE_BOTTLE_SWARM_HOST: swarm.managerHost,
    CLAUDE_BOTTLE_UPSTREAM_CA: ca.caFile,
    CB_SWARM_TOKEN: ROUTE_TOKEN,
    CB_SWARM_KNOWN_HOST: KNOWN,
  });
  const inAgent = (script: string) =>
    agent.node.docker(["exec", "-u", "agent", agent.container, "sh", "-c", script], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  // "running: <command>" is said as the CLI starts its command: the file comes a moment later.
  const writtenInAgent = (path: string) =>
    waitFor(`${path} in the agent`, async () => {
      const r = await inAgent(`cat ${path}`);
      return r.code === 0 && r.stdout !== "" ? r.stdout : null;
    });
  const keeper = () => `claude-bottle-keeper-${slug}`;
  const standinRequests = async () =>
    (await execInTask(standin, "cat /tmp/requests.jsonl 2>/dev/null || true")).stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { url: string; headers: Record<string, string> });

  beforeAll(async () => {
    swarm = await startSwarm();
    // Each node says where its engine answers, as an administrator would label it.
    await labelNodeEngines(swarm);
    t = await makeTestHome();
    ca = await makeUpstreamCa();
    // The git upstream: its host key made here, so the bottle can pin it before it exists.
    await buildImage("images/sshd-upstream.Dockerfile", SSHD_IMAGE);
    [identity, hostKey] = (await sshKeyPairs(["gate", "upstream"])) as [SshKeyPair, SshKeyPair];
    keyDir = await mkdtemp(join(tmpdir(), "cb-swarm-keys-"));
    await writeFile(join(keyDir, "app-key"), identity.privateKey, { mode: 0o600 });
    await writeFile(join(keyDir, "host-key"), hostKey.privateKey, { mode: 0o600 });
    await swarm.loadImages([SSHD_IMAGE]);
    await writeAgentBottle(
      t,
      "sw",
      `env:
  CB_SWARM_KNOWN: {from_env: CB_SWARM_KNOWN_HOST}
egress:
  allow: [${ALLOWED}]
  routes:
    - host: ${ROUTE_HOST}
      paths: ["/v1/"]
      auth: { scheme: Bearer, token_env: CB_SWARM_TOKEN }
git:
  - name: app
    url: ${APP_URL}
    identity_file: ${join(keyDir, "app-key")}
    known_host_key: ${hostKey.publicKey}
supervise: true
`,
    );
    cli = t.spawn(["start", "sw", "--yes", "--exec", START_EXEC], env());
    const started = await waitFor(
      "the swarm bottle to run its command",
      async () => {
        const out = cli.output();
        if (cli.exitCode !== null) throw new Error(`start exited ${cli.exitCode}:\n${out.stderr}`);
        return out.stderr.includes(`running: ${START_EXEC}`) ? out : null;
      },
      600_000,
      1000,
    );
    slug = slugOf(started.stderr);
    project = `claude-bottle-${slug}`;
    agent = await runningTask(swarm, `${project}_agent`);
    standin = await startStandin();
    gitUpstream = await runningTask(swarm, `standin-${slug}_git`);
  }, 900_000);

  /** The HTTPS stand-in, a service of its own stack on the bottle's egress overlay. */
  async function startStandin(): Promise<RunningTask> {
    standinDir = await mkdtemp(join(tmpdir(), "cb-swarm-standin-"));
    const hosts = [ALLOWED, ROUTE_HOST, UNLISTED, ADDED];
    const certs = await writeStubCerts(standinDir, ca.ca, hosts, new Date());
    const idOf = async (tag: string) =>
      (await runDocker(["image", "inspect", "-f", "{{.Id}}", tag])).stdout.trim();
    const image = await idOf(NODE_IMAGE);
    const pinned = {
      endpoint_mode: "dnsrr",
      placement: { constraints: [`node.hostname == ${agent.node.container}`] },
      restart_policy: { condition: "none" },
    };
    // sshd with the host key the bottle pins ("$$" is a literal "$" in a stack file).
    const sshd = [
      "install -m 600 /run/secrets/hostkey /etc/ssh/ssh_host_ed25519_key",
      "install -d -o git -g git -m 0700 /home/git/.ssh",
      `printf '%s\\n' "$$AUTHORIZED_KEY" >/home/git/.ssh/authorized_keys`,
      "chown git:git /home/git/.ssh/authorized_keys",
      "chmod 0600 /home/git/.ssh/authorized_keys",
      "mkdir -p /run/sshd",
      "exec /usr/sbin/sshd -D -e",
    ].join(" && ");
    const stack = {
      version: "3.9",
      services: {
        upstream: {
          image,
          entrypoint: ["node", "/srv/server.mjs"],
          networks: { egress: { aliases: hosts } },
          configs: [
            { source: "server", target: "/srv/server.mjs" },
            { source: "certs", target: "/srv/certs.json" },
          ],
          deploy: pinned,
        },
        git: {
          image: await idOf(SSHD_IMAGE),
          entrypoint: ["sh", "-c", sshd],
          environment: [`AUTHORIZED_KEY=${identity.publicKey}`],
          networks: { egress: { aliases: [GIT_HOST] } },
          secrets: [{ source: "hostkey", target: "hostkey" }],
          deploy: pinned,
        },
      },
      secrets: { hostkey: { file: join(keyDir, "host-key") } },
      networks: { egress: { external: true, name: `claude-bottle-${slug}-egress` } },
      configs: {
        server: { file: join(PACKAGE_ROOT, "dist/demo/stub-upstream-server.mjs") },
        certs: { file: certs },
      },
    };
    await swarm.docker(
      [
        "stack",
        "deploy",
        "--detach=true",
        "--resolve-image",
        "never",
        "-c",
        "-",
        `standin-${slug}`,
      ],
      { input: stringify(stack) },
    );
    const task = await runningTask(swarm, `standin-${slug}_upstream`);
    await waitFor("the stand-in to listen", async () =>
      (
        await execInTask(
          task,
          "node -e \"require('net').connect(443,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))\"",
        )
      ).code === 0
        ? true
        : null,
    );
    return task;
  }

  afterAll(async () => {
    cli?.kill("SIGTERM");
    await waitFor(
      "the CLI to exit",
      async () => (cli?.exitCode !== null ? true : null),
      120_000,
    ).catch(() => {});
    if (swarm !== undefined) {
      await swarm.docker(["stack", "rm", `standin-${slug}`], { allowFailure: true });
      await t?.run(["cleanup", "--all", "--yes"], env());
      await removeSwarm(swarm.id);
    }
    await ca?.dispose();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
    if (standinDir) await rm(standinDir, { recursive: true, force: true });
    await t?.dispose();
  }, 300_000);

  it("runs every service of the bottle on one node, pinned, found by list", async () => {
    const rows = await Promise.all(
      ["agent", "pipelock", "egress"].map((s) => serviceTasks(swarm, `${project}_${s}`)),
    );
    const nodes = new Set(
      rows
        .flat()
        .filter((r) => r.currentState.startsWith("Running"))
        .map((r) => r.node),
    );
    expect([...nodes]).toEqual([agent.node.container]);
    const listed = await t.run(["list", "--json"], env());
    const bottle = (
      JSON.parse(listed.stdout) as Array<{
        slug: string;
        state: string;
        services: string[];
        attached: boolean;
      }>
    ).find((b) => b.slug === slug);
    expect(bottle).toMatchObject({ state: "running", attached: true });
    expect(bottle?.services).toEqual(["agent", "egress", "git-gate", "pipelock", "supervise"]);
    // The compose backend does not claim it.
    const compose = await t.run(["list", "--json", "--backend", "compose"], env());
    expect(
      (JSON.parse(compose.stdout) as Array<{ slug: string }>).map((b) => b.slug),
    ).not.toContain(slug);
  });

  it("reaches an allowlisted host through pipelock's intercepted TLS", async () => {
    const r = await inAgent(`curl -sS -m 20 https://${ALLOWED}/swarm-hello`);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, url: "/swarm-hello" });
  });

  it("refuses an unlisted host, telling why, and the host receives nothing", async () => {
    const r = await inAgent(
      `curl -sS -m 20 -w '\\n%{http_connect} %{http_code}' https://${UNLISTED}/swarm-refused 2>&1`,
    );
    expect(r.stdout).toContain(`"${UNLISTED}:443" is not on this bottle's egress allowlist`);
    expect(r.stdout).toMatch(/\n200 403$/);
    expect((await standinRequests()).filter((q) => q.url === "/swarm-refused")).toEqual([]);
  });

  it("shows that refusal in `info`, read from pipelock's node through the manager", async () => {
    const r = await t.run(["info", slug, "--json"], env());
    const info = JSON.parse(r.stdout) as {
      containers: Array<{ service: string }>;
      refusals: Array<{ host: string; decision: string }>;
    };
    expect(info.containers.map((c) => c.service)).toContain("pipelock");
    expect(info.refusals).toContainEqual(expect.objectContaining({ host: UNLISTED }));
  });

  it("shows the bottle in the dashboard, and a refusal on its node in the decision stream", async () => {
    const dashboard = await startDashboard(t, env());
    try {
      const session = await fetch(`${dashboard.origin}/api/session`, {
        method: "POST",
        headers: { origin: dashboard.origin, "x-dashboard-token": dashboard.token },
      });
      expect(session.status).toBe(200);
      const cookie = (session.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const bottles = (await (
        await fetch(`${dashboard.origin}/api/bottles`, { headers: { cookie } })
      ).json()) as Array<{ slug: string; hosts: string[]; sidecars: Array<{ service: string }> }>;
      const mine = bottles.find((b) => b.slug === slug);
      expect(mine?.hosts).toContain(ALLOWED);
      expect(mine?.sidecars.map((c) => c.service)).toEqual(
        expect.arrayContaining(["agent", "egress", "pipelock", "supervise"]),
      );
      const stream = await fetch(`${dashboard.origin}/api/events`, { headers: { cookie } });
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      let seen = "";
      // A host named for this test alone: the stream's replay holds earlier refusals.
      const probe = `dashboard-${Date.now()}.example.test`;
      const refusal = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return false;
          seen += new TextDecoder().decode(value);
          if (seen.includes(probe)) return true;
        }
      })();
      // The log follower finds the bottle's sidecars within a few seconds of starting.
      await waitFor("pipelock's refusal in the stream", async () => {
        await inAgent(`curl -sS -m 10 -o /dev/null https://${probe}/`);
        return (await Promise.race([refusal, new Promise((r) => setTimeout(() => r(null), 2000))]))
          ? true
          : null;
      });
      await reader.cancel();
      const events = seen
        .split("\n")
        .filter((l) => l.startsWith("data: ["))
        .flatMap((l) => JSON.parse(l.slice("data: ".length)) as Array<Record<string, unknown>>);
      expect(events.find((e) => e.host === probe)).toMatchObject({
        slug,
        source: "pipelock",
        kind: "refuse",
      });
      expect(seen).not.toContain(ROUTE_TOKEN);
    } finally {
      dashboard.process.kill("SIGTERM");
    }
  });

  it("injects the route token from a Swarm secret; the agent never holds it", async () => {
    const r = await inAgent(
      `curl -sS -m 20 -H 'Authorization: Bearer agent-fake' https://${ROUTE_HOST}/v1/swarm-models`,
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, url: "/v1/swarm-models" });
    const seen = (await standinRequests()).filter((q) => q.url === "/v1/swarm-models");
    expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${ROUTE_TOKEN}`);
    const mine = await inAgent("env; cat /proc/1/environ; cat /run/secrets/* 2>&1");
    expect(mine.stdout).not.toContain(ROUTE_TOKEN);
    // The agent's only secret is its own forwarded variable.
    expect((await inAgent("ls /run/secrets")).stdout).toBe("CB_SWARM_KNOWN\n");
  });

  it("gives the program the CLI runs its forwarded variable, which DLP keeps in the bottle", async () => {
    expect(await writtenInAgent("/tmp/forwarded.txt")).toBe(`${KNOWN}\n`);
    const r = await inAgent(
      `curl -sS -m 20 -o /dev/null -w '%{http_code}' 'https://${ALLOWED}/known?note=${KNOWN}'`,
    );
    expect(r.stdout).toBe("403");
    const b64 = Buffer.from(KNOWN).toString("base64");
    const encoded = await inAgent(
      `curl -sS -m 20 -o /dev/null -w '%{http_code}' -H 'X-Note: ${b64}' https://${ALLOWED}/known-b64`,
    );
    expect(encoded.stdout).toBe("403");
    expect((await standinRequests()).filter((q) => q.url.startsWith("/known"))).toEqual([]);
  });

  it("shows no secret's value in any service, task, container, secret or config output", async () => {
    const forms = [ROUTE_TOKEN, KNOWN].flatMap((v) => [v, Buffer.from(v).toString("base64")]);
    const outputs: CliResult[] = [];
    const services = (
      await swarm.docker(["service", "ls", "-q", "--filter", `label=${BOTTLE_SLUG_LABEL}=${slug}`])
    ).stdout
      .split("\n")
      .filter(Boolean);
    expect(services.length).toBe(5);
    const push = (r: { code: number; stdout: string; stderr: string }) => outputs.push(r);
    push(await swarm.docker(["service", "inspect", ...services]));
    const tasks = (await swarm.docker(["service", "ps", "-q", "--no-trunc", ...services])).stdout
      .split("\n")
      .filter(Boolean);
    push(await swarm.docker(["inspect", "--type", "task", ...tasks]));
    for (const kind of ["secret", "config"]) {
      const ids = (
        await swarm.docker([kind, "ls", "-q", "--filter", `label=${BOTTLE_SLUG_LABEL}=${slug}`])
      ).stdout
        .split("\n")
        .filter(Boolean);
      expect(ids.length).toBeGreaterThan(0);
      push(await swarm.docker([kind, "inspect", ...ids]));
    }
    push(await swarm.docker(["stack", "ps", "--no-trunc", project]));
    for (const node of swarm.nodes) {
      const ids = (await node.docker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) push(await node.docker(["inspect", ...ids]));
    }
    push(cli.output() as CliResult & { code: number });
    const all = outputs.map((o) => `${o.stdout}${o.stderr}`).join("\n");
    expect(all).toContain(`${project}_egress`);
    for (const form of forms) expect(all).not.toContain(form);
  });

  it("leaves the agent no way to the nodes, the host or outside names", async () => {
    const targets = [
      ...swarm.nodes.flatMap((n) => [`${n.address}:2377`, `${n.address}:7946`, `${n.address}:22`]),
      `${swarm.gateway}:22`,
    ];
    const script = targets
      .map((target) => {
        const [host, port] = target.split(":");
        return `if timeout 4 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null; then echo "${target} connected"; fi`;
      })
      .join("\n");
    const reach = await inAgent(script);
    expect(reach.stdout).toBe("");
    // The same probe does connect where the agent may go: its own pipelock.
    const control = await inAgent(
      `timeout 4 bash -c 'exec 3<>/dev/tcp/claude-bottle-pipelock-${slug}/8888' && echo connected`,
    );
    expect(control.stdout.trim()).toBe("connected");
    const before = await swarm.dns.queries();
    const probe = `probe-${slug}.exfil.example.com`;
    await inAgent(`getent hosts ${probe}; true`);
    const after = await swarm.dns.queries();
    expect(after.slice(before.length).filter((q) => q.includes("exfil"))).toEqual([]);
    // The egress overlay does reach them (the targets were live): pipelock's task connects.
    const pipelock = await runningTask(swarm, `${project}_pipelock`);
    const fromPipelock = await tcpReach(pipelock, [`${swarm.manager.address}:2377`]);
    expect(fromPipelock[`${swarm.manager.address}:2377`]).toBe("connected");
  });

  /**
   * The agent asks (over MCP) for `requested` and for a gitleaks exception; both show up here,
   * one is approved and the other denied with the CLI, the agent's tool calls return the
   * answers, and its retry to `requested` goes through.
   */
  async function askedApprovedAndRetried(requested: string): Promise<void> {
    const before = await inAgent(
      `curl -sS -m 20 -o /dev/null -w '%{http_code}' https://${requested}/before`,
    );
    expect(before.stdout).toBe("403");
    const client = join(standinDir, "client.mjs");
    await bundleForNode(join(PACKAGE_ROOT, "test/supervise/bottle-mcp-client.ts"), client);
    await runDocker(["cp", client, `${agent.container}:${CLIENT_IN_AGENT}`], {
      env: { DOCKER_HOST: agent.node.dockerHost },
    });
    await agent.node.docker([
      "exec",
      "-d",
      "-u",
      "agent",
      "-e",
      `CB_REQUEST_HOST=${requested}`,
      agent.container,
      "sh",
      "-c",
      `node ${CLIENT_IN_AGENT} > /tmp/mcp.out 2>&1`,
    ]);
    const pending = (kind: string) =>
      waitFor(`a ${kind} proposal here`, async () => {
        const listed = await t.run(["supervise", "--json"], env());
        const all = JSON.parse(listed.stdout || "[]") as Array<{
          id: string;
          slug: string;
          status: string;
          request: { kind: string };
        }>;
        return (
          all.find((p) => p.slug === slug && p.status === "pending" && p.request.kind === kind) ??
          null
        );
      });
    const host = await pending("egress-host").catch(async (error) => {
      // What each side saw, to tell a client that never asked from a mirror that never pulled.
      const client = (await inAgent("cat /tmp/mcp.out")).stdout;
      const queue = await agent.node.docker(["exec", keeper(), "ls", "-lR", "/m"], {
        allowFailure: true,
      });
      throw new Error(
        `${String(error)}\nagent's client:\n${client}\nkeeper:\n${queue.stdout}${queue.stderr}\nCLI:\n${cli.output().stderr.slice(-2000)}`,
      );
    });
    const approved = await t.run(
      ["supervise", "approve", host.id, "--reason", "docs", "--json"],
      env(),
    );
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout).changes).toContain(
      `added ${requested} to pipelock's allowlist`,
    );
    const leak = await pending("gitleaks-exception");
    expect((await t.run(["supervise", "deny", leak.id, "--reason", "rotate it"], env())).code).toBe(
      0,
    );
    const out = await waitFor("both answers in the agent", async () => {
      const r = await inAgent("cat /tmp/mcp.out");
      return r.stdout.includes("RESULT leak") ? r.stdout : null;
    });
    const result = (name: string) =>
      JSON.parse(new RegExp(`RESULT ${name} (.*)`).exec(out)?.[1] ?? "null");
    expect(result("host")).toMatchObject({ status: "approved", id: host.id, reason: "docs" });
    expect(result("leak")).toMatchObject({ status: "denied", id: leak.id, reason: "rotate it" });
    const after = await waitFor(
      "pipelock to take the approval",
      async () => {
        const r = await inAgent(`curl -sS -m 20 https://${requested}/after-approval`);
        return r.stdout.includes('"ok":true') ? r.stdout : null;
      },
      30_000,
    );
    expect(JSON.parse(after)).toMatchObject({ ok: true, url: "/after-approval" });
  }

  it("takes the agent's request to a human here, and the approval lets its retry through", async () => {
    await askedApprovedAndRetried(ADDED);
  });

  it("pushes through git-gate on the node: a clean commit goes upstream, a secret does not", async () => {
    const upstreamLog = async () =>
      (await execInTask(gitUpstream, "git --git-dir=/srv/git/app.git log --format=%s main")).stdout;
    const clone = await inAgent(`cd ~/work && git clone -q ${APP_URL} app && cat app/README.md`);
    expect(clone.stderr).toBe("");
    expect(clone.stdout).toBe("# app\n");
    const push = await inAgent(
      "cd ~/work/app && git -c user.name=a -c user.email=a@example.test commit -q --allow-empty -m 'Swarm clean' && git push -q origin main 2>&1",
    );
    expect(push.code).toBe(0);
    expect(await upstreamLog()).toContain("Swarm clean");
    const key = FAKE_CREDENTIALS["aws-access-token"]?.hit ?? "";
    expect(key).not.toBe("");
    const leak = await inAgent(
      `cd ~/work/app && printf 'aws_access_key_id = ${key}\\n' > creds.ini && git add creds.ini && git -c user.name=a -c user.email=a@example.test commit -qm 'Swarm leak' && git push origin main 2>&1`,
    );
    expect(leak.code).not.toBe(0);
    expect(leak.stdout).toContain("git-gate");
    expect(leak.stdout).not.toContain(key);
    expect(await upstreamLog()).not.toContain("Swarm leak");
  });

  it("removes a second bottle whose CLI is killed while its stack starts; the first runs on", async () => {
    await writeAgentBottle(t, "sw2", `egress:\n  allow: [${ALLOWED}]\n`);
    const second = t.spawn(["start", "sw2", "--yes", "--exec", "sleep 3600"], env());
    const out = await waitFor(
      "the second bottle's stack to be deploying",
      async () => {
        const o = second.output();
        if (second.exitCode !== null) {
          throw new Error(`start exited ${second.exitCode}:\n${o.stderr}`);
        }
        return /starting bottle \S+ on /.test(o.stderr) ? o : null;
      },
      300_000,
      100,
    );
    const other = slugOf(out.stderr);
    expect(other).not.toBe(slug);
    second.kill("SIGKILL");
    const label = `label=${BOTTLE_SLUG_LABEL}=${other}`;
    const none = async (run: Promise<{ stdout: string }>) => (await run).stdout.trim() === "";
    // The deploy goes on without the CLI: the start guard waits for it, then removes it all.
    await waitFor(
      "the start guard to remove the second bottle",
      async () => {
        for (const kind of ["service", "secret", "config", "network"]) {
          if (!(await none(swarm.docker([kind, "ls", "-q", "--filter", label])))) return null;
        }
        for (const node of swarm.nodes) {
          if (!(await none(node.docker(["ps", "-aq", "--filter", label])))) return null;
          if (!(await none(node.docker(["volume", "ls", "-q", "--filter", label])))) return null;
        }
        const listed = JSON.parse((await t.run(["list", "--json"], env())).stdout) as Array<{
          slug: string;
        }>;
        return listed.some((b) => b.slug === other) ? null : true;
      },
      180_000,
      1000,
    );
    expect((await runningTask(swarm, `${project}_agent`)).container).toBe(agent.container);
    expect((await inAgent(`curl -sS -m 20 https://${ALLOWED}/still-here`)).stdout).toContain(
      '"ok":true',
    );
  });

  it("is removed by `stop` while its start CLI is attached, which says so and exits", async () => {
    await writeAgentBottle(t, "sw3", `egress:\n  allow: [${ALLOWED}]\n`);
    const third = t.spawn(["start", "sw3", "--yes", "--exec", "sleep 3600"], env());
    try {
      const out = await waitFor(
        "the third bottle's command to run",
        async () => {
          const o = third.output();
          if (third.exitCode !== null)
            throw new Error(`start exited ${third.exitCode}:\n${o.stderr}`);
          return o.stderr.includes("running: sleep 3600") ? o : null;
        },
        300_000,
      );
      const other = slugOf(out.stderr);
      const stopped = await t.run(["stop", other], env());
      expect(stopped.code, stopped.stderr).toBe(0);
      // The attached CLI finds its bottle gone: it says who removed it and exits, at once.
      const code = await waitFor(
        "the attached CLI to exit",
        async () => third.exitCode ?? (third.signalCode === null ? null : -1),
        30_000,
      );
      const said = third.output().stderr;
      expect(code, said).not.toBe(-1);
      expect(said).toContain(`bottle ${other} was removed by `);
      expect(said).not.toContain("no running agent");
      const label = `label=${BOTTLE_SLUG_LABEL}=${other}`;
      for (const kind of ["service", "secret", "config", "network"]) {
        expect(
          (await swarm.docker([kind, "ls", "-q", "--filter", label])).stdout.trim(),
          kind,
        ).toBe("");
      }
    } finally {
      if (third.exitCode === null && third.signalCode === null) third.kill("SIGKILL");
    }
  });

  it("is taken over by resume when its start CLI dies, and approvals reach it through resume", async () => {
    cli.kill("SIGKILL");
    await waitFor("the start CLI to die", async () =>
      cli.exitCode !== null || cli.signalCode !== null ? true : null,
    );
    // A bottle whose CLI dies after its agent ran waits to be resumed; nothing removes it.
    expect((await runningTask(swarm, `${project}_agent`)).container).toBe(agent.container);
    const resumed = "printenv CB_SWARM_KNOWN > /tmp/forwarded-resume.txt; exec sleep 3600";
    cli = t.spawn(["resume", slug, "--exec", resumed], env());
    await waitFor(
      "resume to run its command in the bottle",
      async () => {
        const out = cli.output();
        if (cli.exitCode !== null) throw new Error(`resume exited ${cli.exitCode}:\n${out.stderr}`);
        return out.stderr.includes(`running: ${resumed}`) ? true : null;
      },
      120_000,
    );
    expect(cli.output().stderr).toContain(`resuming ${slug}`);
    expect(await writtenInAgent("/tmp/forwarded-resume.txt")).toBe(`${KNOWN}\n`);
    // The start CLI's mirror died with it: this round trip goes through resume's.
    await askedApprovedAndRetried(UNLISTED);
  });

  it("fails closed when the agent's task is killed: nothing restarts it, the CLI removes it all", async () => {
    // The stand-in sits on the bottle's egress network, which would keep it from removal.
    await swarm.docker(["stack", "rm", `standin-${slug}`]);
    await waitFor("the stand-in to go", async () =>
      (await serviceTasks(swarm, `standin-${slug}_upstream`).catch(() => [])).length === 0 &&
      (
        await standin.node.docker(["ps", "-q", "--filter", `id=${standin.container}`])
      ).stdout.trim() === ""
        ? true
        : null,
    );
    await agent.node.docker(["kill", agent.container]);
    const code = await waitFor("the CLI to exit", async () => cli.exitCode, 180_000);
    expect(code).not.toBe(0);
    const rows = await serviceTasks(swarm, `${project}_agent`).catch(() => []);
    expect(rows.filter((r) => r.currentState.startsWith("Running"))).toEqual([]);
    const label = `label=${BOTTLE_SLUG_LABEL}=${slug}`;
    for (const kind of ["service", "secret", "config", "network"]) {
      expect((await swarm.docker([kind, "ls", "-q", "--filter", label])).stdout.trim(), kind).toBe(
        "",
      );
    }
    expect((await agent.node.docker(["volume", "ls", "-q", "--filter", label])).stdout.trim()).toBe(
      "",
    );
    const listed = await t.run(["list", "--json"], env());
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });
});
