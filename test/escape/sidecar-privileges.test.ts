// Sandbox escape, by the sidecars themselves: a sidecar holds what the agent must never
// have (CA keys, route tokens, upstream identities), so one the agent subverts must hold no
// more privilege than its job needs. In real bottles, one started by the test's own user
// (root in CI) and one by an unprivileged CLI user: every Node sidecar runs as the owner of
// its staged files with no capabilities and no way to gain any, git-gate's root part keeps
// only its five capabilities and its daemon none, and the bottle still works end to end
// (the non-root sidecars can read their 0600 keys). From the agent, as the agent user, none
// of the sidecars' files can be reached.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { hostUser } from "../../src/backend/compose-facts.js";
import { sidecarUserFor } from "../../src/core/compose.js";
import { CLI, makeTestHome, PACKAGE_ROOT, type TestHome } from "../support/cli/cli-process.js";
import { withOutput } from "../support/cli/process-output.js";
import { type RunningBottle, searchAgentFiles } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { curlThrough } from "../support/docker/escape-bottle.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { docker } from "../support/docker/git-gate-docker.js";
import { waitFor } from "../support/docker/wait-for.js";
import { bundleForNode } from "../support/sidecars/bundle.js";
import {
  APP_URL,
  type EscapeGitUpstream,
  gitRemoteYaml,
} from "../support/standins/escape-git-upstream.js";
import { headerValues, type RecordingUpstream } from "../support/standins/escape-standins.js";
import type { UpstreamCa } from "../support/tls/test-ca.js";

const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";
const TOKEN = `cbtest-priv-token-${randomBytes(6).toString("hex")}`;
const GIT = "git -c user.name=Agent -c user.email=agent@example.test";
/** The egress part of both bottles here: ALLOWED, and ROUTE with CB_PRIV_TOKEN. */
const ROUTED = `egress:
  allow: [${ALLOWED}]
  routes:
    - host: ${ROUTE}
      auth: { scheme: Bearer, token_env: CB_PRIV_TOKEN }`;
const CLIENT_IN_AGENT = "/tmp/cb-mcp-client.mjs";
/** An unprivileged CLI user that is neither the agent (1000) nor the fixed sidecar user. */
const CLI_USER = { uid: 4242, gid: 4242 };
/** CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID: bits 0, 1, 3, 6 and 7. */
const GIT_GATE_CAP_MASK = (1n << 0n) | (1n << 1n) | (1n << 3n) | (1n << 6n) | (1n << 7n);

interface ProcessStatus {
  pid: number;
  name: string;
  uids: number[];
  gids: number[];
  capEff: bigint;
  capPrm: bigint;
  capBnd: bigint;
  capAmb: bigint;
  noNewPrivs: number;
}

/** Every process in a container, from /proc/<pid>/status, read by an exec of the container's own user. */
async function processesIn(container: string): Promise<ProcessStatus[]> {
  const r = await docker([
    "exec",
    container,
    "sh",
    "-c",
    'for s in /proc/[0-9]*/status; do cat "$s" 2>/dev/null && echo ---; done',
  ]);
  const entries = r.stdout.split("---\n").filter((block) => block.includes("Pid:"));
  const field = (block: string, name: string) =>
    new RegExp(`^${name}:\\s*(.*)$`, "m").exec(block)?.[1]?.trim() ?? "";
  const parsed = entries.map((block) => ({
    pid: Number(field(block, "Pid")),
    name: field(block, "Name"),
    uids: field(block, "Uid").split(/\s+/).map(Number),
    gids: field(block, "Gid").split(/\s+/).map(Number),
    capEff: BigInt(`0x${field(block, "CapEff")}`),
    capPrm: BigInt(`0x${field(block, "CapPrm")}`),
    capBnd: BigInt(`0x${field(block, "CapBnd")}`),
    capAmb: BigInt(`0x${field(block, "CapAmb")}`),
    noNewPrivs: Number(field(block, "NoNewPrivs")),
  }));
  // The exec's own shell and cat are among them: they carry the container's limits too.
  return parsed;
}

interface Inspected {
  user: string;
  readOnly: boolean;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  restart: string;
}

function inspectConfinement(container: string): Inspected {
  const out = execFileSync(
    "docker",
    [
      "inspect",
      "-f",
      "{{json .Config.User}}|{{json .HostConfig.ReadonlyRootfs}}|{{json .HostConfig.CapDrop}}|{{json .HostConfig.CapAdd}}|{{json .HostConfig.SecurityOpt}}|{{json .HostConfig.RestartPolicy.Name}}",
      container,
    ],
    { encoding: "utf8" },
  ).trim();
  const [user, readOnly, capDrop, capAdd, securityOpt, restart] = out
    .split("|")
    .map((v) => JSON.parse(v));
  return {
    user,
    readOnly,
    capDrop: capDrop ?? [],
    capAdd: capAdd ?? [],
    securityOpt: securityOpt ?? [],
    restart,
  };
}

/** A test home whose CLI runs as `user` (with the engine socket's group), via setpriv. */
async function homeRunAs(user: { uid: number; gid: number }): Promise<TestHome> {
  const t = await makeTestHome();
  const socketGid = (await stat("/var/run/docker.sock")).gid;
  const env = { ...t.env, HOME: t.home };
  const spawnAs = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = spawn(
      "setpriv",
      [
        `--reuid=${user.uid}`,
        `--regid=${user.gid}`,
        `--groups=${socketGid}`,
        "--",
        process.execPath,
        CLI,
        ...args,
      ],
      { env: { ...env, ...extraEnv }, cwd: t.home, stdio: ["ignore", "pipe", "pipe"] },
    );
    return withOutput(child);
  };

  const giveAway = async (path: string): Promise<void> => {
    await chown(path, user.uid, user.gid);
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.isDirectory()) await giveAway(join(path, entry.name));
      else await chown(join(path, entry.name), user.uid, user.gid);
    }
  };
  await giveAway(t.home);
  return {
    ...t,
    env,
    async writeManifest(kind, name, text) {
      await t.writeManifest(kind, name, text);
      await giveAway(t.home);
    },
    spawn: spawnAs,
    run(args, extraEnv) {
      const child = spawnAs(args, extraEnv);
      return new Promise((resolve) => {
        child.on("close", (code) => resolve({ ...child.output(), code }));
      });
    },
  };
}

function modeAndOwner(path: string): Promise<string> {
  return stat(path).then((s) => `${(s.mode & 0o777).toString(8)} ${s.uid}:${s.gid}`);
}

describeWithEngine("escape: through a sidecar's privileges", () => {
  const suite = escapeSuite();
  let git: EscapeGitUpstream;
  const expected = sidecarUserFor(hostUser());
  const asRoot = hostUser().uid === 0;
  let ca: UpstreamCa;
  let t: TestHome;
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  let client: string;

  const container = (service: string, slug = bottle.slug) => `claude-bottle-${service}-${slug}`;
  const nodeSidecars = () => ["pipelock", "egress", "supervise"].map((s) => container(s));
  const inUpstream = (script: string) => git.exec(script);

  beforeAll(async () => {
    ca = suite.ca;
    t = suite.home;
    client = join(suite.dir, "client.mjs");
    await bundleForNode(join(PACKAGE_ROOT, "test/supervise/bottle-mcp-client.ts"), client);

    git = await suite.startGitUpstream();
    bottle = await suite.startBottle("priv", {
      bottle: `
${ROUTED}
${gitRemoteYaml(git)}
supervise: true
`,
      env: { CB_PRIV_TOKEN: TOKEN },
    });
    await git.joinBottle(bottle);
    upstream = await suite.startUpstream(bottle, [ALLOWED, ROUTE, "approved.test"]);
  });

  it("runs pipelock, egress and supervise as the files' owner, never root, with no capabilities", async () => {
    // Threat: a subverted sidecar uses root or a capability to read other files, change its
    // network or gain privileges by exec (a setuid binary).
    expect(expected.uid).not.toBe(0);
    for (const name of nodeSidecars()) {
      expect(inspectConfinement(name), name).toEqual({
        user: `${expected.uid}:${expected.gid}`,
        readOnly: true,
        capDrop: ["ALL"],
        capAdd: [],
        securityOpt: ["no-new-privileges:true"],
        restart: "on-failure",
      });
      const processes = await processesIn(name);
      expect(processes.map((p) => p.name)).toContain("node");
      expect(processes.some((p) => p.pid === 1)).toBe(true);
      for (const p of processes) {
        const where = `${name} pid ${p.pid} (${p.name})`;
        expect(new Set(p.uids), where).toEqual(new Set([expected.uid]));
        expect(new Set(p.gids), where).toEqual(new Set([expected.gid]));
        expect([p.capEff, p.capPrm, p.capBnd, p.capAmb], where).toEqual([0n, 0n, 0n, 0n]);
        expect(p.noNewPrivs, where).toBe(1);
      }
      // The root filesystem is read-only; only the private /tmp takes writes.
      const write = await docker(
        ["exec", name, "sh", "-c", "touch /opt/claude-bottle/x; touch /tmp/x && echo tmp-ok"],
        { allowFailure: true },
      );
      expect(write.stderr, name).toContain("Read-only file system");
      expect(write.stdout, name).toBe("tmp-ok\n");
    }
  });

  it("keeps git-gate's root part to five capabilities and runs its daemon with none", async () => {
    const gate = container("git-gate");
    expect(inspectConfinement(gate)).toEqual({
      user: "",
      readOnly: false,
      capDrop: ["ALL"],
      capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
      securityOpt: ["no-new-privileges:true"],
      restart: "on-failure",
    });
    const gateUid = Number((await docker(["exec", gate, "id", "-u", "git-gate"])).stdout.trim());
    expect(gateUid).toBeGreaterThan(0);
    const processes = await processesIn(gate);
    const daemon = processes.filter((p) => p.name === "git-daemon" || p.name === "git");
    expect(daemon.length).toBeGreaterThan(0);
    for (const p of processes) {
      const where = `${gate} pid ${p.pid} (${p.name})`;
      expect(p.noNewPrivs, where).toBe(1);
      expect(p.capBnd, where).toBe(GIT_GATE_CAP_MASK);
      expect(p.capAmb, where).toBe(0n);
      if (p.uids[0] === 0) {
        expect(p.capEff & ~GIT_GATE_CAP_MASK, where).toBe(0n);
      } else {
        expect(new Set(p.uids), where).toEqual(new Set([gateUid]));
        expect([p.capEff, p.capPrm], where).toEqual([0n, 0n]);
      }
    }
    for (const p of daemon)
      expect(new Set(p.uids), `${p.name} ${p.pid}`).toEqual(new Set([gateUid]));
    // The gate user reads the gitleaks allowlist that approvals write (an unreadable one
    // would silently drop every approved exception).
    const allow = await docker(
      ["exec", "-u", "git-gate", gate, "cat", "/etc/git-gate/allow/gitleaks-allow.txt"],
      { allowFailure: true },
    );
    expect(allow.stderr).toBe("");
    expect(allow.code).toBe(0);
  });

  it("stages each private key 0600 for exactly the user its sidecar runs as", async () => {
    const state = join(t.home, "state", bottle.slug);
    const owner = `${expected.uid}:${expected.gid}`;
    expect(await modeAndOwner(state)).toBe(`700 ${hostUser().uid}:${hostUser().gid}`);
    expect(await modeAndOwner(join(state, "pipelock", "ca-key.pem"))).toBe(`600 ${owner}`);
    expect(await modeAndOwner(join(state, "egress", "ca-key.pem"))).toBe(`600 ${owner}`);
    expect(await modeAndOwner(join(state, "supervise", "queue"))).toBe(`700 ${owner}`);
    // Inside, each key is its sidecar's own and nobody else's.
    for (const [service, key] of [
      ["pipelock", "/etc/pipelock/ca-key.pem"],
      ["egress", "/etc/egress/ca-key.pem"],
    ] as const) {
      const seen = await docker(["exec", container(service), "stat", "-c", "%a %u:%g", key]);
      expect(seen.stdout.trim(), service).toBe(`600 ${owner}`);
    }
  });

  it("still works end to end: HTTPS through egress and pipelock, a git push, supervise", async () => {
    // egress signs with its key and pipelock with its own: both read them as non-root.
    expect((await curlThrough(bottle, `https://${ALLOWED}/priv-allowed`)).http).toBe(200);
    expect((await curlThrough(bottle, `https://${ROUTE}/v1/priv-route`)).http).toBe(200);
    const received = await upstream.requests();
    expect(received.filter((q) => q.url === "/priv-allowed")).toHaveLength(1);
    const routed = received.filter((q) => q.url === "/v1/priv-route");
    expect(routed.map((q) => headerValues(q, "authorization"))).toEqual([[`Bearer ${TOKEN}`]]);
    expect(await curlThrough(bottle, "https://unlisted.example.test/")).toMatchObject({
      http: 403,
      body: expect.stringContaining("not on this bottle's egress allowlist"),
    });
    expect(await upstream.requests()).toHaveLength(received.length);

    // git-gate reads the identity and forwards a clean push.
    const push = await bottle.exec(
      `cd ~/work && git clone -q ${APP_URL} app && cd app && echo 'More.' >>README.md && ${GIT} commit -qam More && git push -q origin main 2>&1 && git rev-parse HEAD`,
    );
    expect(push.code, push.stdout + push.stderr).toBe(0);
    const head = push.stdout.trim().split("\n").at(-1);
    const upstreamHead = (
      await inUpstream("git --git-dir=/srv/git/app.git rev-parse main")
    ).stdout.trim();
    expect(upstreamHead).toBe(head);

    // supervise writes a proposal into the queue as its user; the host's answers reach it.
    execFileSync("docker", ["cp", client, `${bottle.agentContainer}:${CLIENT_IN_AGENT}`]);
    execFileSync("docker", [
      "exec",
      "-u",
      "0",
      bottle.agentContainer,
      "chmod",
      "a+r",
      CLIENT_IN_AGENT,
    ]);
    const started = await bottle.exec(
      `nohup node ${CLIENT_IN_AGENT} >/tmp/mcp.out 2>&1 </dev/null & echo started`,
    );
    expect(started.stdout).toBe("started\n");
    const pending = (kind: string) =>
      waitFor(`a ${kind} proposal`, async () => {
        const listed = await t.run(["supervise", "--json"]);
        const all = JSON.parse(listed.stdout || "[]") as Array<{
          id: string;
          slug: string;
          request: { kind: string };
        }>;
        return all.find((p) => p.slug === bottle.slug && p.request.kind === kind) ?? null;
      });
    const host = await pending("egress-host");
    const approved = await t.run(["supervise", "approve", host.id, "--reason", "docs"]);
    expect(approved.code, approved.stderr).toBe(0);
    const leak = await pending("gitleaks-exception");
    expect((await t.run(["supervise", "deny", leak.id, "--reason", "no"])).code).toBe(0);
    const out = await waitFor("the agent's answers", async () => {
      const r = await bottle.exec("cat /tmp/mcp.out");
      return r.stdout.includes("RESULT leak") ? r.stdout : null;
    });
    const result = (name: string) =>
      JSON.parse(new RegExp(`RESULT ${name} (.*)`).exec(out)?.[1] ?? "null");
    expect(result("host")).toMatchObject({ status: "approved", id: host.id });
    expect(result("leak")).toMatchObject({ status: "denied", id: leak.id, reason: "no" });
    // pipelock (non-root, no capabilities) took the approval live from the in-place rewrite.
    expect((await curlThrough(bottle, "https://approved.test/live")).http).toBe(200);
  });

  it("leaves the agent user no way to the sidecars' files", async () => {
    // Threat: the agent reads a CA key, a token or an identity through a shared mount, a
    // path it can reach, or another container's processes.
    const state = join(t.home, "state", bottle.slug);
    const mounts = JSON.parse(
      execFileSync("docker", ["inspect", "-f", "{{json .Mounts}}", bottle.agentContainer], {
        encoding: "utf8",
      }),
    ) as Array<{ Source: string; Destination: string; RW: boolean }>;
    expect(mounts.map((m) => [m.Source, m.RW])).toEqual([
      [join(state, "supervise", "current"), false],
    ]);
    const whoami = await bottle.exec("id -u; id -g");
    expect(whoami.stdout).toBe("1000\n1000\n");
    const paths = [
      "/etc/pipelock/ca-key.pem",
      "/etc/egress/ca-key.pem",
      "/etc/git-gate/creds/app-key",
      "/var/lib/git-gate/ssh/app-key",
      "/var/lib/supervise/queue",
      state,
      "/var/run/docker.sock",
    ];
    const reach = await bottle.exec(
      paths
        .map(
          (p) =>
            `if cat '${p}' >/dev/null 2>&1 || ls '${p}' >/dev/null 2>&1; then echo "reached ${p}"; fi`,
        )
        .join("\n"),
    );
    expect(reach.stdout).toBe("");
    // No sidecar process is visible, so none of their /proc/<pid>/root or environ either.
    const seen = await bottle.exec('for s in /proc/[0-9]*/comm; do cat "$s"; done | sort -u');
    expect(seen.stdout.split("\n")).not.toContain("node");
    expect(seen.stdout).not.toMatch(/git|daemon/);
    // Nothing the agent can read holds the pipelock CA key's body or the route token.
    const keyBody = execFileSync(
      "docker",
      ["exec", container("pipelock"), "sed", "-n", "2p", "/etc/pipelock/ca-key.pem"],
      { encoding: "utf8" },
    ).trim();
    expect(keyBody.length).toBeGreaterThan(20);
    const roots = ["/etc", "/home", "/tmp", "/var", "/run", "/opt", "/srv", "/root", "/mnt"];
    expect(await searchAgentFiles(bottle, [keyBody, TOKEN], { roots })).toEqual([]);
  });

  it.skipIf(!asRoot)(
    "works with the CLI run by an unprivileged user: sidecars run as that user and read its 0600 keys",
    async () => {
      const userHome = await homeRunAs(CLI_USER);
      suite.disposeAfter(userHome);
      // The upstream CA must be readable by the CLI's user, as a user's own file would be.
      await chown(ca.dir, CLI_USER.uid, CLI_USER.gid);
      await chown(ca.caFile, CLI_USER.uid, CLI_USER.gid);
      const mine = await suite.startBottle("mine", {
        bottle: `
${ROUTED}
supervise: true
`,
        env: { CB_PRIV_TOKEN: TOKEN },
        home: userHome,
      });

      const state = join(userHome.home, "state", mine.slug);
      const owner = `${CLI_USER.uid}:${CLI_USER.gid}`;
      expect(await modeAndOwner(state)).toBe(`700 ${owner}`);
      expect(await modeAndOwner(join(state, "pipelock", "ca-key.pem"))).toBe(`600 ${owner}`);
      expect(await modeAndOwner(join(state, "egress", "ca-key.pem"))).toBe(`600 ${owner}`);
      for (const service of ["pipelock", "egress", "supervise"]) {
        const name = container(service, mine.slug);
        expect(inspectConfinement(name).user, name).toBe(owner);
        for (const p of await processesIn(name)) {
          const where = `${name} pid ${p.pid} (${p.name})`;
          expect(new Set(p.uids), where).toEqual(new Set([CLI_USER.uid]));
          expect([p.capEff, p.capBnd], where).toEqual([0n, 0n]);
        }
      }
      const theirs = await suite.startUpstream(mine, [ALLOWED, ROUTE]);
      expect((await curlThrough(mine, `https://${ALLOWED}/as-user`)).http).toBe(200);
      expect((await curlThrough(mine, `https://${ROUTE}/v1/as-user`)).http).toBe(200);
      const got = await theirs.requests();
      expect(got.map((q) => q.url).sort()).toEqual(["/as-user", "/v1/as-user"]);
      const routed = got.filter((q) => q.url === "/v1/as-user");
      expect(routed.map((q) => headerValues(q, "authorization"))).toEqual([[`Bearer ${TOKEN}`]]);
      // supervise, as the CLI's user, serves from the queue that user owns.
      const health = await mine.exec(
        "curl -sS -m 10 --noproxy '*' -o /dev/null -w '%{http_code}' http://supervise:8765/healthz",
      );
      expect(health.stdout).toBe("200");
    },
  );
});
