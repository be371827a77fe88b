// What a bottle needs from Docker Swarm, proved on a real three-node swarm (the fixture in
// test/support/swarm/): a stack with an internal overlay and an egress overlay, dnsrr
// services pinned to one node by a node label, a secret from stdin that no listing shows, a
// staged file as a config, labels that find each bottle on whichever node runs it, exec
// through the node that runs a task, and what Swarm does when a task's container dies.
// Two stand-in bottles of the base image: an "agent" on the internal overlay only and a
// "gate" on both, answering one line on port 8080.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { stringify } from "yaml";
import { BOTTLE_SLUG_LABEL } from "../../src/contracts/agent.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { BASE_IMAGE } from "../support/docker/git-gate-docker.js";
import { waitFor } from "../support/docker/wait-for.js";
import { runDocker } from "../support/swarm/docker-process.js";
import {
  describeTimings,
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

/** The node label a bottle's placement constraint names. */
const NODE_LABEL = "dev.claude-bottle.test.bottle-node";
const BOTTLES = ["b1", "b2"] as const;
const GATE_BANNER = "gate-ok";
const STAGED_POLICY = "allow:\n  - api.example.test\n";

/** A command that answers every connection on port 8080 with one line. */
function lineServer(line: string): string[] {
  // `$$` is Compose's escape for a literal `$`.
  const script = `my $$s = IO::Socket::INET->new(LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $$!; while (my $$c = $$s->accept) { print $$c "${line}\\n"; close $$c }`;
  return ["perl", "-MIO::Socket::INET", "-e", script];
}

/**
 * Services on the manager and on the third node that show what this kernel allows: a VIP
 * service (needs IPVS), and an encrypted overlay (needs ESP) beside a plain one.
 */
function kernelStack(manager: string, far: string, image: string): string {
  const on = (node: string, mode: "vip" | "dnsrr" = "dnsrr") => ({
    endpoint_mode: mode,
    placement: { constraints: [`node.hostname == ${node}`] },
    restart_policy: { condition: "none" },
  });
  return stringify({
    version: "3.8",
    services: {
      client: {
        image,
        command: ["sleep", "infinity"],
        networks: ["plain", "sealed"],
        deploy: on(manager),
      },
      vip: { image, command: lineServer("vip"), networks: ["plain"], deploy: on(far, "vip") },
      sealed: { image, command: lineServer("sealed"), networks: ["sealed"], deploy: on(far) },
      near: { image, command: ["sleep", "infinity"], networks: ["sealed"], deploy: on(far) },
    },
    networks: {
      plain: { driver: "overlay" },
      sealed: { driver: "overlay", driver_opts: { encrypted: "" } },
    },
  });
}

/**
 * A stand-in bottle's stack: the shapes a Swarm bottle uses, nothing of its programs. The
 * image is named by its ID: a node asks a registry for a tag at every task start.
 */
function bottleStack(slug: string, staged: string, secretName: string, image: string): string {
  const labels = { [BOTTLE_SLUG_LABEL]: slug };
  const deploy = (restart: "none" | "on-failure") => ({
    endpoint_mode: "dnsrr",
    placement: { constraints: [`node.labels.${NODE_LABEL} == ${slug}`] },
    restart_policy: { condition: restart },
    labels,
  });
  return stringify({
    version: "3.8",
    services: {
      agent: {
        image,
        command: ["sleep", "infinity"],
        networks: ["internal"],
        labels,
        configs: [{ source: "policy", target: "/etc/claude-bottle/policy.yaml", mode: 0o444 }],
        deploy: deploy("none"),
      },
      gate: {
        image,
        command: lineServer(GATE_BANNER),
        networks: ["internal", "egress"],
        labels,
        secrets: [{ source: "route_token", target: "route_token", mode: 0o400 }],
        deploy: deploy("on-failure"),
      },
    },
    networks: {
      internal: { driver: "overlay", internal: true, labels },
      egress: { driver: "overlay", labels },
    },
    configs: { policy: { file: staged, labels } },
    secrets: { route_token: { external: true, name: secretName } },
  });
}

describeWithEngine("a bottle's mechanics on a three-node Docker Swarm", () => {
  let swarm: StartedSwarm | undefined;
  let dir = "";
  let listener: Server | undefined;
  let listenerPort = 0;
  /** Each bottle's route token: created from stdin, never in an argv. */
  const tokens = new Map(BOTTLES.map((b) => [b, `swarm-token-${randomBytes(12).toString("hex")}`]));
  const tasks = new Map<string, RunningTask>();
  /** What `docker stack deploy` printed, for the secret's search. */
  const deployOutput: string[] = [];
  let baseImageId = "";

  function started(): StartedSwarm {
    if (swarm === undefined) throw new Error("the swarm did not start");
    return swarm;
  }

  async function task(service: string): Promise<RunningTask> {
    const known = tasks.get(service);
    if (known !== undefined) return known;
    const found = await runningTask(started(), service);
    tasks.set(service, found);
    return found;
  }

  beforeAll(async () => {
    swarm = await startSwarm({ images: [BASE_IMAGE] });
    process.stderr.write(`${describeTimings(swarm.timings)}\n`);
    const s = swarm;
    dir = await mkdtemp(join(tmpdir(), "cbswarm-stage-"));
    // Something on the host, on the fixture network's gateway, that tasks must not reach.
    // A probe closes as soon as it connects: a reset is expected, not an error.
    listener = createServer((socket) => socket.on("error", () => {}).end());
    await new Promise<void>((resolve) => listener?.listen(0, "0.0.0.0", resolve));
    const address = listener.address();
    listenerPort = typeof address === "object" && address !== null ? address.port : 0;

    baseImageId = (
      await runDocker(["image", "inspect", "-f", "{{.Id}}", BASE_IMAGE])
    ).stdout.trim();
    const [, second, third] = s.nodes;
    if (second === undefined || third === undefined) throw new Error("the swarm has no workers");
    for (const [bottle, node] of [
      ["b1", second],
      ["b2", third],
    ] as const) {
      await s.docker(["node", "update", "--label-add", `${NODE_LABEL}=${bottle}`, node.container]);
      await s.docker(
        ["secret", "create", "--label", `${BOTTLE_SLUG_LABEL}=${bottle}`, `${bottle}-token`, "-"],
        { input: tokens.get(bottle) ?? "" },
      );
      const staged = join(dir, `${bottle}-policy.yaml`);
      await writeFile(staged, STAGED_POLICY);
      // --resolve-image never: the default asks a registry for each image's digest.
      const deploy = await s.docker(
        ["stack", "deploy", "--resolve-image", "never", "-c", "-", bottle],
        { input: bottleStack(bottle, staged, `${bottle}-token`, baseImageId) },
      );
      deployOutput.push(deploy.stdout, deploy.stderr);
    }
    const deployed = Date.now();
    await Promise.all(BOTTLES.flatMap((b) => [task(`${b}_agent`), task(`${b}_gate`)]));
    process.stderr.write(
      `swarm: two stacks running ${((Date.now() - deployed) / 1000).toFixed(1)} s after deploy\n`,
    );
  });

  afterAll(async () => {
    listener?.close();
    if (dir !== "") await rm(dir, { recursive: true, force: true });
    if (swarm !== undefined) {
      const removing = Date.now();
      const left = await removeSwarm(swarm.id);
      process.stderr.write(
        `swarm fixture: removed in ${((Date.now() - removing) / 1000).toFixed(1)} s\n`,
      );
      expect(left).toEqual({ containers: [], networks: [], volumes: [] });
    }
  });

  it("forms one swarm of three nodes that the host's CLI manages through the manager", async () => {
    const s = started();
    const r = await s.docker([
      "node",
      "ls",
      "--format",
      "{{.Hostname}} {{.Status}} {{.ManagerStatus}}",
    ]);
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => l.trimEnd())
        .sort(),
    ).toEqual(
      s.nodes.map((n) => `${n.container} Ready${n.role === "manager" ? " Leader" : ""}`).sort(),
    );
    // Every node holds the host's image under the same ID, so a second load moves nothing.
    expect(await s.loadImages([BASE_IMAGE])).toEqual([]);
    // Deployed with --resolve-image never and images named by ID: no registry was asked.
    expect((await s.dns.queries()).filter((n) => n.includes("docker"))).toEqual([]);
  });

  it("asks a registry at a task's start when its image is named by tag (the reason for IDs)", async () => {
    const s = started();
    const before = (await s.dns.queries()).length;
    await s.docker([
      "service",
      "create",
      "--detach",
      "--no-resolve-image",
      "--name",
      "tagged",
      "--endpoint-mode",
      "dnsrr",
      "--restart-condition",
      "none",
      "--constraint",
      "node.role == manager",
      BASE_IMAGE,
      "sleep",
      "infinity",
    ]);
    try {
      await runningTask(s, "tagged");
      const asked = (await s.dns.queries()).slice(before);
      // The engine's own default registry, as it reports it: a name in the same domain was
      // looked up. The lookup failed (the recorder answers NXDOMAIN) and the local image ran;
      // with an answer, the node would have pulled whatever the registry holds under that name.
      const index = (await s.docker(["info", "--format", "{{.IndexServerAddress}}"])).stdout;
      const domain = new URL(index.trim()).hostname.split(".").slice(-2).join(".");
      expect(domain).toMatch(/^[a-z0-9-]+\.[a-z]+$/);
      expect(asked.filter((n) => n === domain || n.endsWith(`.${domain}`))).not.toEqual([]);
    } finally {
      await s.docker(["service", "rm", "tagged"]);
    }
  });

  it("runs every task of a bottle on the node its label names, resolved by dnsrr", async () => {
    const s = started();
    const expected = { b1: s.nodes[1]?.container, b2: s.nodes[2]?.container };
    for (const bottle of BOTTLES) {
      for (const service of ["agent", "gate"]) {
        const t = await task(`${bottle}_${service}`);
        expect(t.node.container).toBe(expected[bottle]);
        const mode = await s.docker([
          "service",
          "inspect",
          "-f",
          "{{.Spec.EndpointSpec.Mode}}",
          `${bottle}_${service}`,
        ]);
        expect(mode.stdout.trim()).toBe("dnsrr");
      }
    }
  });

  it("lets the agent on the internal overlay reach its gate by name, and nothing else", async () => {
    const s = started();
    const agent = await task("b1_agent");
    const gate = await task("b1_gate");
    const banner = await execInTask(
      agent,
      "timeout 5 bash -c 'exec 3<>/dev/tcp/gate/8080; cat <&3'",
    );
    expect(banner.stdout.trim()).toBe(GATE_BANNER);

    // The other bottle's gate, on its two networks.
    const otherGate = await task("b2_gate");
    const otherIps = (
      await otherGate.node.docker([
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        otherGate.container,
      ])
    ).stdout
      .trim()
      .split(" ");
    const outside = [
      `${s.manager.address}:2377`,
      ...s.nodes.map((n) => `${n.address}:7946`),
      `${s.gateway}:${listenerPort}`,
    ];
    const targets = [...outside, ...otherIps.map((ip) => `${ip}:8080`)];

    const fromAgent = await tcpReach(agent, targets);
    expect(Object.keys(fromAgent).sort()).toEqual([...targets].sort());
    expect(Object.entries(fromAgent).filter(([, how]) => how === "connected")).toEqual([]);
    // No default route at all: the internal overlay has no gateway.
    const routes = await execInTask(agent, "cat /proc/net/route");
    expect(routes.stdout.split("\n").filter((l) => /^\S+\s+00000000\s/.test(l))).toEqual([]);
    // Nor a name for the other bottle's gate.
    const other = await execInTask(agent, "getent hosts b2_gate tasks.b2_gate");
    expect(other.stdout).toBe("");

    // The same outside targets answer the gate, on the egress overlay: they were there to reach.
    const fromGate = await tcpReach(gate, outside);
    expect(fromGate).toEqual(Object.fromEntries(outside.map((t) => [t, "connected"])));
  });

  it("lets no lookup of the agent's leave its node, while the gate's reaches the swarm's DNS", async () => {
    const s = started();
    const probe = `cbswarm-probe-${randomBytes(4).toString("hex")}`;
    const agent = await task("b1_agent");
    const gate = await task("b1_gate");
    await execInTask(agent, `getent hosts ${probe}-agent.example.test; true`);
    // Asked after the agent's: once it has arrived, the agent's would have too.
    await execInTask(gate, `getent hosts ${probe}-gate.example.test; true`);
    const asked = await waitFor(
      "the gate's lookup at the swarm's DNS server",
      async () => {
        const names = await s.dns.queries();
        return names.includes(`${probe}-gate.example.test`) ? names : null;
      },
      20_000,
    );
    expect(asked.filter((n) => n.startsWith(`${probe}-agent`))).toEqual([]);
  });

  it("reads a secret created from stdin at /run/secrets, and no listing shows its value", async () => {
    const s = started();
    const token = tokens.get("b1") ?? "";
    const gate = await task("b1_gate");
    const read = await execInTask(gate, "cat /run/secrets/route_token");
    expect(read.stdout).toBe(token);
    const agent = await task("b1_agent");
    expect((await execInTask(agent, "ls /run/secrets 2>&1 || true")).stdout).not.toContain(
      "route_token",
    );

    const services = BOTTLES.flatMap((b) => [`${b}_agent`, `${b}_gate`]);
    const taskIds = (await Promise.all(services.map((sv) => serviceTasks(s, sv)))).flatMap((ts) =>
      ts.map((t) => t.id),
    );
    const outputs: Record<string, string> = {
      "service inspect": (await s.docker(["service", "inspect", ...services])).stdout,
      "inspect of tasks": (await s.docker(["inspect", "--type", "task", ...taskIds])).stdout,
      "secret inspect": (await s.docker(["secret", "inspect", "b1-token"])).stdout,
      "secret ls": (await s.docker(["secret", "ls"])).stdout,
      "service ps": (await s.docker(["service", "ps", "--no-trunc", ...services])).stdout,
      "stack deploy": deployOutput.join("\n"),
      "stack ls": (await s.docker(["stack", "ls"])).stdout,
    };
    for (const bottle of BOTTLES) {
      outputs[`stack ps ${bottle}`] = (
        await s.docker(["stack", "ps", "--no-trunc", bottle])
      ).stdout;
      outputs[`stack services ${bottle}`] = (await s.docker(["stack", "services", bottle])).stdout;
    }
    for (const node of s.nodes) {
      const ids = (await node.docker(["ps", "-aq"])).stdout.trim().split("\n").filter(Boolean);
      if (ids.length > 0) {
        outputs[`inspect of containers on ${node.container}`] = (
          await node.docker(["inspect", ...ids])
        ).stdout;
      }
    }
    // Looked where the secret is referenced: the gate's spec names it.
    expect(outputs["service inspect"]).toContain("b1-token");
    const encodings = [token, Buffer.from(token).toString("base64")];
    const leaks = Object.entries(outputs)
      .filter(([, text]) => encodings.some((e) => text.includes(e)))
      .map(([where]) => where);
    expect(leaks).toEqual([]);
  });

  it("ships a staged file from the deploying CLI's disk as a config (whose content is not secret)", async () => {
    const s = started();
    const agent = await task("b1_agent");
    const read = await execInTask(agent, "cat /etc/claude-bottle/policy.yaml");
    expect(read.stdout).toBe(STAGED_POLICY);
    // A config's data is in plain sight of the manager's API: never a token in one.
    const data = await s.docker(["config", "inspect", "-f", "{{json .Spec.Data}}", "b1_policy"]);
    expect(Buffer.from(JSON.parse(data.stdout) as string, "base64").toString()).toBe(STAGED_POLICY);
  });

  it("finds every bottle's services, networks and task containers by label, on every node", async () => {
    const s = started();
    const names = async (args: string[]) =>
      (await s.docker(args)).stdout.trim().split("\n").filter(Boolean).sort();
    expect(
      await names([
        "service",
        "ls",
        "--filter",
        `label=${BOTTLE_SLUG_LABEL}`,
        "--format",
        "{{.Name}}",
      ]),
    ).toEqual(["b1_agent", "b1_gate", "b2_agent", "b2_gate"]);
    expect(
      await names([
        "service",
        "ls",
        "--filter",
        `label=${BOTTLE_SLUG_LABEL}=b2`,
        "--format",
        "{{.Name}}",
      ]),
    ).toEqual(["b2_agent", "b2_gate"]);
    expect(
      await names([
        "network",
        "ls",
        "--filter",
        `label=${BOTTLE_SLUG_LABEL}`,
        "--format",
        "{{.Name}}",
      ]),
    ).toEqual(["b1_egress", "b1_internal", "b2_egress", "b2_internal"]);
    expect(
      await names([
        "secret",
        "ls",
        "--filter",
        `label=${BOTTLE_SLUG_LABEL}`,
        "--format",
        "{{.Name}}",
      ]),
    ).toEqual(["b1-token", "b2-token"]);
    expect(
      await names([
        "config",
        "ls",
        "--filter",
        `label=${BOTTLE_SLUG_LABEL}`,
        "--format",
        "{{.Name}}",
      ]),
    ).toEqual(["b1_policy", "b2_policy"]);

    // Each node's own engine lists the containers it runs by the same label.
    const perNode: Record<string, string[]> = {};
    for (const node of s.nodes) {
      const r = await node.docker([
        "ps",
        "--filter",
        `label=${BOTTLE_SLUG_LABEL}`,
        "--format",
        `{{.Label "${BOTTLE_SLUG_LABEL}"}} {{.Label "com.docker.swarm.service.name"}}`,
      ]);
      perNode[node.container] = r.stdout.trim().split("\n").filter(Boolean).sort();
    }
    expect(perNode).toEqual({
      [s.nodes[0]?.container ?? ""]: [],
      [s.nodes[1]?.container ?? ""]: ["b1 b1_agent", "b1 b1_gate"],
      [s.nodes[2]?.container ?? ""]: ["b2 b2_agent", "b2 b2_gate"],
    });
  });

  it("execs into a task's container through the engine of the node that runs it", async () => {
    const s = started();
    const [row] = (await serviceTasks(s, "b2_agent")).filter((t) =>
      t.currentState.startsWith("Running"),
    );
    expect(row?.node).toBe(s.nodes[2]?.container);
    const agent = await task("b2_agent");
    const hostname = await execInTask(agent, "hostname");
    expect(hostname.stdout.trim()).toBe(agent.container.slice(0, 12));
    const echoed = await execInTask(agent, "cat >/tmp/in && cat /tmp/in", {
      input: "through stdin\n",
    });
    expect(echoed.stdout).toBe("through stdin\n");
    // As an attach would: the host's own CLI, pointed at that node's engine.
    const direct = await runDocker(["exec", "-i", agent.container, "cat", "/tmp/in"], {
      env: { DOCKER_HOST: agent.node.dockerHost },
    });
    expect(direct.stdout).toBe("through stdin\n");
  });

  it("shows what this kernel allows: VIPs need IPVS, encrypted overlays need ESP", async () => {
    const s = started();
    const far = s.nodes[2];
    if (far === undefined) throw new Error("the swarm has no third node");
    // In the node itself (it has iproute2): IPVS's proc file exists once the module is
    // there; ESP is there if the kernel takes an ESP security association.
    const inNode = async (script: string) =>
      (await runDocker(["exec", far.container, "sh", "-c", script], { allowFailure: true }))
        .code === 0;
    const ipvs = await inNode("test -e /proc/net/ip_vs");
    const sa = "src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x101";
    const esp = await inNode(
      `ip xfrm state add ${sa} mode transport aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128 && ip xfrm state delete ${sa}`,
    );
    process.stderr.write(`swarm: this kernel has IPVS: ${ipvs}, ESP: ${esp}\n`);

    await s.docker(["stack", "deploy", "--resolve-image", "never", "-c", "-", "k"], {
      input: kernelStack(s.manager.container, far.container, baseImageId),
    });
    try {
      const client = await runningTask(s, "k_client");
      const near = await runningTask(s, "k_near");
      await runningTask(s, "k_vip");
      await runningTask(s, "k_sealed");
      const fromClient = await tcpReach(client, ["vip:8080", "tasks.vip:8080", "sealed:8080"]);
      // Across nodes on a plain overlay, the task's own address answers; its VIP only with IPVS.
      expect(fromClient["tasks.vip:8080"]).toBe("connected");
      expect(fromClient["vip:8080"] === "connected").toBe(ipvs);
      // On the encrypted overlay the same node always answers; another node only with ESP,
      // though the deploy succeeded either way.
      expect((await tcpReach(near, ["sealed:8080"]))["sealed:8080"]).toBe("connected");
      expect(fromClient["sealed:8080"] === "connected").toBe(esp);
    } finally {
      await s.docker(["stack", "rm", "k"]);
    }
  });

  it("leaves a killed agent down (condition: none) and restarts a killed gate (on-failure)", async () => {
    const s = started();
    const agent = await task("b1_agent");
    const gate = await task("b1_gate");
    const killedAt = Date.now();
    await agent.node.docker(["kill", agent.container]);
    await gate.node.docker(["kill", gate.container]);

    const failed = await waitFor("the agent's task to fail", async () => {
      const [latest] = await serviceTasks(s, "b1_agent");
      return latest?.currentState.startsWith("Failed") ? latest : null;
    });
    expect(failed.error).toContain("non-zero exit (137)");

    const restarted = await waitFor("a new task of the gate", async () => {
      const [latest] = await serviceTasks(s, "b1_gate");
      return latest !== undefined &&
        latest.id !== gate.taskId &&
        latest.currentState.startsWith("Running")
        ? latest
        : null;
    });
    const restartMs = Date.now() - killedAt;
    expect(restarted.node).toBe(gate.node.container);
    process.stderr.write(
      `swarm: a killed on-failure task ran again after ${(restartMs / 1000).toFixed(1)} s\n`,
    );

    // Past the restart delay (5 s by default) and more, the agent has had no new task.
    await sleep(Math.max(0, 12_000 - (Date.now() - killedAt)));
    const agentTasks = await serviceTasks(s, "b1_agent");
    expect(agentTasks.map((t) => t.id)).toEqual([failed.id]);
    const replicas = await s.docker([
      "service",
      "ls",
      "--filter",
      "name=b1_agent",
      "--format",
      "{{.Replicas}}",
    ]);
    expect(replicas.stdout.trim()).toBe("0/1");
  });
});
