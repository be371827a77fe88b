// Supervision in a real bottle: an MCP client inside the agent container asks for a host,
// the human approves it with the built CLI, and the agent's very next request through
// pipelock is let through; a second request is denied and the agent is told why. The audit
// log outlives the bottle and verifies.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT, writeAgentBottle } from "../support/cli/cli-process.js";
import { useTestHome } from "../support/cli/use-test-home.js";
import { startBottle } from "../support/docker/bottle-harness.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { dockerOn, ON_SWARM, serviceContainer } from "../support/docker/test-backend.js";
import { waitFor as waitForValue } from "../support/docker/wait-for.js";
import { bottleYaml } from "../support/fixtures/bottle-yaml.js";
import { bundleForNode } from "../support/sidecars/bundle.js";

const CLIENT_IN_AGENT = "/tmp/cb-mcp-client.mjs";

const waitFor = <T>(probe: () => Promise<T | null>, what: string) =>
  waitForValue(what, probe, 240_000);

describeWithEngine("supervision in a real bottle", () => {
  const t = useTestHome((home) =>
    writeAgentBottle(home, "supervised", bottleYaml({ allow: ["allowed.test"], supervise: true })),
  );
  let work: string;
  let client: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cb-supervise-e2e-"));
    client = join(work, "client.mjs");
    await bundleForNode(join(PACKAGE_ROOT, "test/supervise/bottle-mcp-client.ts"), client);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("approves a host live and denies an exception, with the answers back in the agent", async () => {
    const curl =
      "curl -sS -m 5 -o /dev/null -w 'status=%{http_code}' https://approved.test/ 2>&1 | head -c 200";
    const script = [
      `for i in $(seq 1 600); do [ -f ${CLIENT_IN_AGENT} ] && break; sleep 0.2; done`,
      `echo "before: $(${curl})"`,
      `node ${CLIENT_IN_AGENT}`,
      `echo "after: $(${curl})"`,
    ].join("\n");
    const cli = t.spawn(["start", "supervised", "--yes", "--exec", script]);
    const exited = new Promise<void>((resolve) => cli.on("close", () => resolve()));
    try {
      const slug = await waitFor(
        async () => /instance\s+(\S+)/.exec(cli.output().stderr)?.[1] ?? null,
        "the instance line",
      );
      await waitFor(async () => {
        const agent = serviceContainer(slug, "agent");
        if (agent === null) return null;
        try {
          dockerOn(agent, ["cp", client, `${agent.container}:${CLIENT_IN_AGENT}`]);
          return true;
        } catch {
          return null;
        }
      }, "the agent container");

      const pending = async (kind: string) =>
        waitFor(async () => {
          const listed = await t.run(["supervise", "--json"]);
          const found = (
            JSON.parse(listed.stdout || "[]") as Array<{
              id: string;
              slug: string;
              request: { kind: string };
            }>
          ).find((p) => p.slug === slug && p.request.kind === kind);
          return found ?? null;
        }, `a ${kind} proposal`);

      const host = await pending("egress-host");
      const approved = await t.run(["supervise", "approve", host.id, "--reason", "docs", "--json"]);
      expect(approved.stderr).toBe("");
      expect(approved.code).toBe(0);
      expect(JSON.parse(approved.stdout).changes).toEqual([
        "added approved.test to pipelock's allowlist",
      ]);

      const leak = await pending("gitleaks-exception");
      const denied = await t.run(["supervise", "deny", leak.id, "--reason", "rotate the key"]);
      expect(denied.code).toBe(0);

      await exited;
      const out = cli.output().stdout;
      expect(cli.output().stderr).not.toContain("internal error");
      // Before the approval pipelock answers inside the tunnel with its refusal; after it, the
      // request goes on (the name resolves nowhere, so the answer is an upstream failure).
      expect(out).toMatch(/before: status=403$/m);
      const after = /after: (.*)/.exec(out)?.[1] ?? "";
      expect(after).toMatch(/status=\d{3}$/);
      expect(after).not.toContain("CONNECT tunnel failed");
      expect(after).not.toContain("status=403");
      const result = (name: string) =>
        JSON.parse(new RegExp(`RESULT ${name} (.*)`).exec(out)?.[1] ?? "null");
      expect(result("host")).toMatchObject({
        status: "approved",
        id: host.id,
        reason: "docs",
        changes: ["added approved.test to pipelock's allowlist"],
      });
      expect(result("leak")).toMatchObject({
        status: "denied",
        id: leak.id,
        reason: "rotate the key",
      });

      // The state directory went with the bottle; the audit log did not.
      const verified = await t.run(["audit", "verify", "--slug", slug]);
      expect(verified.stdout).toBe(
        `${join(t.home, "audit", `${slug}.jsonl`)}: 4 entries verified\n`,
      );
      expect(verified.code).toBe(0);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
    } finally {
      cli.kill("SIGTERM");
      await exited;
    }
  });

  it("keeps a waiting proposal through a supervise restart; the audit log shows tampering", async () => {
    const bottle = await startBottle(t, "supervised");
    const agent = bottle.containerOf("agent");
    try {
      dockerOn({ env: bottle.engine }, ["cp", client, `${agent}:${CLIENT_IN_AGENT}`]);
      // The agent asks and waits; its output lands in a file the test reads later.
      dockerOn({ env: bottle.engine }, [
        "exec",
        "-d",
        "-u",
        "agent",
        agent,
        "sh",
        "-c",
        `node ${CLIENT_IN_AGENT} > /tmp/mcp.out 2>&1`,
      ]);
      const pendingHost = async () =>
        waitFor(async () => {
          const listed = JSON.parse(
            (await t.run(["supervise", "--json"])).stdout || "[]",
          ) as Array<{
            id: string;
            slug: string;
            request: { kind: string };
          }>;
          return (
            listed.find((p) => p.slug === bottle.slug && p.request.kind === "egress-host") ?? null
          );
        }, "the host proposal");
      const before = await pendingHost();

      // The sidecar dies and comes back; the proposal is a file on the host and survives.
      const killed = bottle.containerOf("supervise");
      dockerOn({ env: bottle.engine }, ["kill", killed]);
      expect((await pendingHost()).id).toBe(before.id);
      // Under Compose it is started again here; a swarm replaces a failed task by itself
      // (restart on failure), with a new container on the same queue volume.
      if (!ON_SWARM) dockerOn({ env: bottle.engine }, ["start", killed]);
      await waitFor(async () => {
        const supervise = serviceContainer(bottle.slug, "supervise");
        if (supervise === null) return null;
        const health = dockerOn(supervise, [
          "inspect",
          "-f",
          "{{.State.Health.Status}}",
          supervise.container,
        ]).trim();
        return health === "healthy" ? true : null;
      }, "supervise to be healthy again");

      const approved = await t.run([
        "supervise",
        "approve",
        before.id,
        "--reason",
        "after restart",
      ]);
      expect(approved.code).toBe(0);
      const retry = await bottle.exec(
        "curl -sS -m 5 -o /dev/null -w 'status=%{http_code}' https://approved.test/ 2>&1",
      );
      expect(retry.stdout).toMatch(/^status=\d{3}$/);
      expect(retry.stdout).not.toBe("status=403");
      const again = await t.run(["supervise", "approve", before.id, "--reason", "twice"]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain(`proposal ${before.id} was already approved`);

      // Any edit to the hash-chained log is found, and where.
      const log = join(t.home, "audit", `${bottle.slug}.jsonl`);
      expect((await t.run(["audit", "verify", "--slug", bottle.slug])).code).toBe(0);
      const lines = (await readFile(log, "utf8")).split("\n");
      lines[0] = (lines[0] ?? "").replace("approved.test", "evil.test");
      await writeFile(log, lines.join("\n"));
      const tampered = await t.run(["audit", "verify", "--slug", bottle.slug]);
      expect(tampered.code).toBe(1);
      expect(`${tampered.stdout}${tampered.stderr}`).toMatch(/line 1\b.*edited/);
    } finally {
      await bottle.stop();
    }
  });
});
