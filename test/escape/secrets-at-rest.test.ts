// Sandbox escape, by looking around inside: a route's token lives only in egress, the
// bottle's CA keys and pipelock's policy only in their sidecars. From the agent container of
// a real bottle nothing of them can be read (environment, /proc, files, egress's own pages)
// and nothing the agent can write changes whom anything else trusts.
import { execFileSync } from "node:child_process";
import { beforeAll, expect, it } from "vitest";
import { type RunningBottle, searchAgentFiles } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { curlThrough, pipelockProxy } from "../support/docker/escape-bottle.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import { headerValues, type RecordingUpstream } from "../support/standins/escape-standins.js";

const TOKEN = `cbtest-rest-route-token-${Math.random().toString(36).slice(2, 12)}`;
const ROUTE = "api.example.test";

function inContainer(container: string, command: string): string {
  return execFileSync("docker", ["exec", container, "sh", "-c", command], { encoding: "utf8" });
}

describeWithEngine("escape: secrets at rest in the bottle", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;

  beforeAll(async () => {
    bottle = await suite.startBottle(
      "rest",
      routedBottle({
        allow: ["allowed.example.test"],
        route: ROUTE,
        token: TOKEN,
        paths: ["/v1/"],
        supervise: true,
      }),
    );
    upstream = await suite.startUpstream(bottle, ["allowed.example.test", ROUTE]);
  });

  it("uses the route token on the agent's behalf (the control)", async () => {
    const r = await curlThrough(bottle, `https://${ROUTE}/v1/models`);
    expect(r.http).toBe(200);
    const seen = (await upstream.requests()).filter((q) => q.url === "/v1/models");
    expect(seen.map((q) => headerValues(q, "authorization"))).toEqual([[`Bearer ${TOKEN}`]]);
  });

  it("keeps the route token out of every environment and command line the agent can read", async () => {
    // Threat: the agent reads the token from its env, or from another process's through /proc.
    const r = await bottle.exec(
      "env; for p in /proc/[0-9]*; do cat $p/environ $p/cmdline 2>/dev/null; echo; done; cat /proc/1/environ",
    );
    expect(r.stdout).toContain("HTTPS_PROXY=http://egress:8080");
    expect(r.stdout).not.toContain(TOKEN);
    // No sidecar process shares the agent's process table.
    const ps = await bottle.exec("ps -eo user,args");
    expect(ps.stdout).not.toMatch(/egress\.mjs|pipelock\.mjs|supervise|git-gate/);
  });

  it("keeps the route token out of every file in the agent container, even as root", async () => {
    // Threat: the token was copied into the image, a mount or a provisioned file.
    // One search for both spellings; it must first find the value it plants for itself.
    const base64 = Buffer.from(TOKEN).toString("base64").slice(0, 24);
    expect(await searchAgentFiles(bottle, [TOKEN, base64], { user: "root" })).toEqual([]);
  });

  it("keeps the route token out of the bottle's staged files and every container's command line", async () => {
    // Threat: the token written where other users or backups read it (the CLI's state, the
    // compose file, a staged env file) or passed in argv (visible in ps and docker inspect).
    const home = suite.home.home;
    const staged = execFileSync("grep", ["-rlF", "-e", TOKEN, "-e", ROUTE, home], {
      encoding: "utf8",
    });
    // The control: the same search finds the route's host in the staged files.
    expect(staged).not.toBe("");
    expect(
      execFileSync("sh", ["-c", `grep -rlF -e '${TOKEN}' '${home}' || true`], { encoding: "utf8" }),
    ).toBe("");
    const ids = execFileSync("docker", ["ps", "-aq", "--filter", `name=${bottle.slug}`], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean);
    expect(ids.length).toBeGreaterThanOrEqual(4);
    const inspected = JSON.parse(
      execFileSync("docker", ["inspect", ...ids], { encoding: "utf8", maxBuffer: 64 << 20 }),
    ) as Array<{
      Name: string;
      Path: string;
      Args: string[];
      Config: {
        Cmd: string[] | null;
        Entrypoint: string[] | null;
        Env: string[];
        Labels: Record<string, string>;
      };
    }>;
    const where = inspected.flatMap((c) => {
      const argv = [c.Path, ...c.Args, ...(c.Config.Cmd ?? []), ...(c.Config.Entrypoint ?? [])];
      const labels = Object.entries(c.Config.Labels ?? {}).map(([k, v]) => `${k}=${v}`);
      // egress (which injects it) and pipelock (which lets it reach its own host only) hold
      // the token in their environments; no other container does.
      const env = /-(egress|pipelock)-/.test(c.Name) ? [] : c.Config.Env;
      return [
        ...(argv.some((a) => a.includes(TOKEN)) ? [`${c.Name} argv`] : []),
        ...(labels.some((l) => l.includes(TOKEN)) ? [`${c.Name} labels`] : []),
        ...(env.some((e) => e.includes(TOKEN)) ? [`${c.Name} env`] : []),
      ];
    });
    expect(where).toEqual([]);
    // The control: egress does hold it, in its environment.
    const egress = inspected.find((c) => c.Name.includes("-egress-"));
    expect(egress?.Config.Env.some((e) => e.endsWith(`=${TOKEN}`))).toBe(true);
  });

  it("never hands the token back: egress's own pages, refusals and clear-text requests", async () => {
    // Threat: egress echoes, lists or leaks the token it injects (or sends it where it is visible).
    const pages = await bottle.exec(
      [
        "curl -sS http://egress:8080/__egress/routes",
        "curl -sS http://egress:8080/__egress/healthz",
        "curl -sS http://egress:8080/__egress/env",
        "curl -sS -X POST http://egress:8080/__egress/routes",
        "curl -sS http://egress:8080/",
        `curl -sS -x http://egress:8080 http://egress/__egress/routes`,
        `curl -sS -i https://${ROUTE}/v1/echo`,
        `curl -sS -i https://${ROUTE}/outside-the-route-paths`,
        `curl -sS -i -H 'Host: unlisted.example.test' https://${ROUTE}/v1/fronted`,
      ].join("; echo; "),
    );
    expect(pages.stdout).toContain(ROUTE);
    expect(pages.stdout).not.toContain(TOKEN);
    // Plain http:// to the route host goes out without the token: it would travel in clear.
    expect((await curlThrough(bottle, `http://${ROUTE}/v1/plain`)).http).toBe(200);
    const plain = (await upstream.requests()).filter((q) => q.url === "/v1/plain");
    expect(plain.map((q) => headerValues(q, "authorization"))).toEqual([[]]);
  });

  it("puts the token only on the route's own paths, however a path is spelled", async () => {
    // Threat: a path the server normalises to somewhere outside the route still gets the token.
    const paths = [
      "/admin/escape",
      "/v1/../admin/escape-dots",
      "/v1/%2e%2e/admin/escape-encoded",
      "/v1%2f..%2fadmin/escape-slash",
      "/v1/;/../admin/escape-params",
      "/V1/escape-case",
    ];
    for (const path of paths) {
      const r = await curlThrough(bottle, `https://${ROUTE}${path}`, { args: "--path-as-is" });
      expect(r.connect, path).toBe(200);
    }
    const seen = (await upstream.requests()).filter((q) => q.url.includes("escape"));
    expect(seen.map((q) => q.url).sort()).toEqual([...paths].sort());
    expect(seen.filter((q) => headerValues(q, "authorization").length > 0)).toEqual([]);
  });

  it("holds no CA key and no pipelock policy, and cannot see them through the proxy", async () => {
    // Threat: with a CA key the agent could mint certificates; with the policy, rewrite it.
    const pipelockKey = inContainer(bottle.pipelockContainer, "cat /etc/pipelock/ca-key.pem");
    const egressKey = inContainer(
      `claude-bottle-egress-${bottle.slug}`,
      "cat /etc/egress/ca-key.pem",
    );
    const keyLines = [pipelockKey, egressKey].map((key) => key.split("\n")[2] ?? "");
    expect(keyLines.every((line) => line.length > 40)).toBe(true);
    // One pass over the file system for both keys and for what only pipelock's policy says.
    const needles = [...keyLines, "secretEnv", "PIPELOCK_SECRET"];
    const listed = await bottle.exec("ls -d /etc/pipelock.yaml /etc/pipelock /etc/egress", {
      user: "root",
    });
    expect(listed.code).toBe(2);
    expect(listed.stdout).toBe("");
    expect(await searchAgentFiles(bottle, needles, { user: "root" })).toEqual([]);
    const viaProxy = await curlThrough(bottle, "http://127.0.0.1:8888/etc/pipelock.yaml", {
      proxy: pipelockProxy(bottle),
    });
    expect(viaProxy.http).toBe(403);
    const direct = await bottle.exec(
      `curl -sS --noproxy '*' http://${bottle.pipelockContainer}:8888/etc/pipelock.yaml`,
    );
    expect(direct.stdout).not.toContain("allow:");
  });

  it("cannot change the CA it trusts system-wide, nor the policy snapshot it is shown", async () => {
    // Threat: the agent plants a CA or rewrites files that other tools or people rely on.
    const attempts = [
      "touch /usr/local/share/ca-certificates/planted.crt",
      "echo planted >>/etc/ssl/certs/ca-certificates.crt",
      "touch /etc/ssl/certs/planted.pem",
      "update-ca-certificates",
      "touch /etc/claude-bottle/current/policy.json",
      "echo '{}' >/etc/claude-bottle/current/planted.json",
    ];
    const r = await bottle.exec(
      attempts.map((c) => `if ${c} >/dev/null 2>&1; then echo "done: ${c}"; fi`).join("; "),
    );
    expect(r.stdout).toBe("");
    // Not even root in the container can write the snapshot: the mount is read-only.
    const asRoot = await bottle.exec("touch /etc/claude-bottle/current/policy.json 2>&1", {
      user: "root",
    });
    expect(asRoot.stdout).toContain("Read-only file system");
    const mounts = JSON.parse(
      execFileSync("docker", ["inspect", "-f", "{{json .Mounts}}", bottle.agentContainer], {
        encoding: "utf8",
      }),
    ) as Array<{ Destination: string; RW: boolean }>;
    expect(mounts.map((m) => [m.Destination, m.RW])).toEqual([
      ["/etc/claude-bottle/current", false],
    ]);
  });
});
