import { describe, expect, it } from "vitest";
import {
  aggregateExtraHosts,
  bottlePlanToCompose,
  sidecarUserFor,
} from "../../src/core/compose.js";
import { renderComposeYaml } from "../../src/core/compose-yaml.js";
import { MATRIX, makePlan, pointLabel } from "../support/fixtures/plan-fixture.js";

const R = "/state/demo-7f3a";
const SLUG_LABELS = {
  "dev.claude-bottle.slug": "demo-7f3a",
  "dev.claude-bottle.home": "/home/dev/.claude-bottle",
};

const HOST_USER = { uid: 1000, gid: 1000 };

/** What every Node sidecar runs under, as the fixed sidecar user (the CLI is root). */
const CONFINED_NODE = {
  user: "10001:10001",
  cap_drop: ["ALL"],
  security_opt: ["no-new-privileges:true"],
  read_only: true,
  tmpfs: ["/tmp"],
  restart: "on-failure",
};

/** A check that asks `url` (host, port and path) for a 200, over bash's /dev/tcp. */
function health(url: string) {
  const { hostname, port, pathname } = new URL(url);
  return {
    test: [
      "CMD",
      "bash",
      "-c",
      expect.stringMatching(
        new RegExp(
          `^exec 3<>/dev/tcp/${hostname}/${port} && printf 'GET ${pathname} HTTP/1\\.0\\\\r\\\\n.*" 200 "\\* \\]\\]$`,
        ),
      ),
    ],
    interval: "30s",
    timeout: "5s",
    retries: 3,
    start_period: "60s",
    start_interval: "500ms",
  };
}

describe.each(MATRIX)("matrix point %#", (point) => {
  const plan = makePlan(point);
  const spec = bottlePlanToCompose(plan, { envFileNonEmpty: true, sidecarUser: HOST_USER });

  it(`has exactly the services it needs (${pointLabel(point)})`, () => {
    const expected = ["pipelock"];
    if (point.git) expected.push("git-gate");
    if (point.egress) expected.push("egress");
    if (point.supervise) expected.push("supervise");
    expected.push("agent");
    expect(Object.keys(spec.services)).toEqual(expected);
  });

  it("names the project and both networks by the slug", () => {
    expect(spec.name).toBe("claude-bottle-demo-7f3a");
    expect(spec.networks).toEqual({
      internal: {
        name: "claude-bottle-demo-7f3a-internal",
        internal: true,
        driver_opts: { "com.docker.network.bridge.inhibit_ipv4": "true" },
        labels: SLUG_LABELS,
      },
      egress: {
        name: "claude-bottle-demo-7f3a-egress",
        labels: SLUG_LABELS,
      },
    });
  });

  it("labels every service with the slug and gives each an init", () => {
    for (const service of Object.values(spec.services)) {
      expect(service.init).toBe(true);
      expect(service.labels).toEqual(SLUG_LABELS);
    }
  });

  it("confines every sidecar: non-root, no capabilities but git-gate's few, no new privileges, restarted on failure", () => {
    for (const [name, service] of Object.entries(spec.services)) {
      if (name === "agent") continue;
      expect(service.cap_drop, name).toEqual(["ALL"]);
      expect(service.security_opt, name).toEqual(["no-new-privileges:true"]);
      expect(service.restart, name).toBe("on-failure");
      if (name === "git-gate") {
        // Starts as root only to hand the identity files to its gate user (see compose.ts).
        expect(service.user).toBeUndefined();
        expect(service.cap_add).toEqual(["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]);
        expect(service.read_only).toBeUndefined();
      } else {
        expect(service.user, name).toBe("1000:1000");
        expect(service.cap_add, name).toBeUndefined();
        expect(service.read_only, name).toBe(true);
        expect(service.tmpfs, name).toEqual(["/tmp"]);
      }
    }
  });

  it("leaves the agent as its image runs it: its own user, its capabilities, no restart", () => {
    const agent = spec.services.agent;
    for (const key of ["user", "cap_drop", "cap_add", "security_opt", "read_only", "restart"]) {
      expect(agent, key).not.toHaveProperty(key);
    }
  });

  it("routes the agent through egress when there are routes, else straight to pipelock", () => {
    const proxy = point.egress
      ? "http://egress:8080"
      : "http://claude-bottle-pipelock-demo-7f3a:8888";
    const noProxy = point.supervise ? "localhost,127.0.0.1,supervise" : "localhost,127.0.0.1";
    expect(spec.services.agent?.environment).toEqual([
      `HTTPS_PROXY=${proxy}`,
      `HTTP_PROXY=${proxy}`,
      `https_proxy=${proxy}`,
      `http_proxy=${proxy}`,
      `NO_PROXY=${noProxy}`,
      `no_proxy=${noProxy}`,
      "NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/claude-bottle.crt",
      "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
      "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
      "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL=1",
      "DISABLE_AUTOUPDATER=1",
      ...(point.supervise ? ["MCP_TOOL_TIMEOUT=660000"] : []),
      "ANTHROPIC_BASE_URL",
      "CLAUDE_CODE_OAUTH_TOKEN",
    ]);
  });

  it("makes the agent depend on every sidecar present, pipelock first", () => {
    const deps = ["pipelock"];
    if (point.git) deps.push("git-gate");
    if (point.egress) deps.push("egress");
    if (point.supervise) deps.push("supervise");
    expect(spec.services.agent?.depends_on).toEqual(deps);
  });

  it("keeps the agent on the internal network only, running sleep infinity", () => {
    const agent = spec.services.agent;
    expect(agent?.image).toBe("claude-bottle/agent:test");
    expect(agent?.build).toBeUndefined();
    expect(agent?.container_name).toBe("claude-bottle-agent-demo-7f3a");
    expect(agent?.command).toEqual(["sleep", "infinity"]);
    expect(agent?.networks).toEqual({ internal: null });
    expect(agent?.env_file).toEqual([`${R}/agent.env`]);
    expect(agent?.volumes).toEqual(
      point.supervise
        ? [
            {
              type: "bind",
              source: `${R}/supervise/current`,
              target: "/etc/claude-bottle/current",
              read_only: true,
            },
          ]
        : undefined,
    );
  });
});

describe("per-service shape", () => {
  const spec = bottlePlanToCompose(makePlan({ git: true, egress: true, supervise: true }));

  it("pipelock: built from our Dockerfile, on both networks, config and CA mounted read-only", () => {
    expect(spec.services.pipelock).toEqual({
      image: "claude-bottle/pipelock:0.1.0",
      build: { context: `${R}/context`, dockerfile: "images/pipelock.Dockerfile" },
      container_name: "claude-bottle-pipelock-demo-7f3a",
      command: ["run", "--config", "/etc/pipelock.yaml", "--listen", "0.0.0.0:8888"],
      networks: { internal: { aliases: ["claude-bottle-pipelock-demo-7f3a"] }, egress: null },
      volumes: [
        {
          type: "bind",
          source: `${R}/pipelock.yaml`,
          target: "/etc/pipelock.yaml",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/pipelock-ca.pem`,
          target: "/etc/pipelock/ca.pem",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/pipelock-ca-key.pem`,
          target: "/etc/pipelock/ca-key.pem",
          read_only: true,
        },
      ],
      healthcheck: health("http://127.0.0.1:8888/__pipelock/healthz"),
      ...CONFINED_NODE,
      init: true,
      labels: SLUG_LABELS,
    });
  });

  it("git-gate: hooks and one identity file per upstream, sorted deduplicated extra_hosts", () => {
    expect(spec.services["git-gate"]).toEqual({
      image: "claude-bottle/git-gate:0.1.0",
      build: { context: `${R}/context`, dockerfile: "images/git-gate.Dockerfile" },
      container_name: "claude-bottle-git-gate-demo-7f3a",
      networks: { internal: { aliases: ["claude-bottle-git-gate-demo-7f3a"] }, egress: null },
      environment: ["GIT_GATE_SECRET_RULES"],
      volumes: [
        {
          type: "bind",
          source: `${R}/git-gate/entrypoint.sh`,
          target: "/usr/local/bin/git-gate-entrypoint",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/git-gate/pre-receive`,
          target: "/etc/git-gate/hooks/pre-receive",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/git-gate/access-hook`,
          target: "/etc/git-gate/hooks/access-hook",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/git-gate/upstreams.json`,
          target: "/etc/git-gate/upstreams.json",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/git-gate/allow`,
          target: "/etc/git-gate/allow",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/keys/app_ed25519`,
          target: "/etc/git-gate/creds/app-key",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/keys/docs_ed25519`,
          target: "/etc/git-gate/creds/docs-key",
          read_only: true,
        },
      ],
      extra_hosts: ["docs.example.test:10.99.0.6", "git.example.test:10.99.0.5"],
      cap_drop: ["ALL"],
      cap_add: ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"],
      security_opt: ["no-new-privileges:true"],
      restart: "on-failure",
      init: true,
      labels: SLUG_LABELS,
    });
  });

  it("egress: internal network only, upstream proxy is pipelock, token slots are bare sorted names", () => {
    expect(spec.services.egress).toEqual({
      image: "claude-bottle/egress:0.1.0",
      build: { context: `${R}/context`, dockerfile: "images/egress.Dockerfile" },
      container_name: "claude-bottle-egress-demo-7f3a",
      networks: { internal: { aliases: ["egress"] } },
      environment: [
        "EGRESS_UPSTREAM_PROXY=http://claude-bottle-pipelock-demo-7f3a:8888",
        "HTTPS_PROXY=http://claude-bottle-pipelock-demo-7f3a:8888",
        "HTTP_PROXY=http://claude-bottle-pipelock-demo-7f3a:8888",
        "NO_PROXY=localhost,127.0.0.1",
        "EGRESS_UPSTREAM_CA=/etc/egress/pipelock-ca.pem",
        "EGRESS_TOKEN_API",
        "EGRESS_TOKEN_UPLOADS",
      ],
      volumes: [
        {
          type: "bind",
          source: `${R}/egress/routes.yaml`,
          target: "/etc/egress/routes.yaml",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/egress/ca.pem`,
          target: "/etc/egress/ca.pem",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/egress/ca-key.pem`,
          target: "/etc/egress/ca-key.pem",
          read_only: true,
        },
        {
          type: "bind",
          source: `${R}/pipelock-ca.pem`,
          target: "/etc/egress/pipelock-ca.pem",
          read_only: true,
        },
      ],
      depends_on: ["pipelock"],
      healthcheck: health("http://127.0.0.1:8080/__egress/healthz"),
      ...CONFINED_NODE,
      init: true,
      labels: SLUG_LABELS,
    });
  });

  it("supervise: internal network only, queue dir mounted read-write", () => {
    expect(spec.services.supervise).toEqual({
      image: "claude-bottle/supervise:0.1.0",
      build: { context: `${R}/context`, dockerfile: "images/supervise.Dockerfile" },
      container_name: "claude-bottle-supervise-demo-7f3a",
      networks: { internal: { aliases: ["supervise"] } },
      environment: [
        "SUPERVISE_BOTTLE_SLUG=demo-7f3a",
        "SUPERVISE_QUEUE_DIR=/var/lib/supervise/queue",
        "SUPERVISE_PORT=8765",
      ],
      volumes: [
        {
          type: "bind",
          source: `${R}/supervise/queue`,
          target: "/var/lib/supervise/queue",
          read_only: false,
        },
      ],
      healthcheck: health("http://127.0.0.1:8765/healthz"),
      ...CONFINED_NODE,
      init: true,
      labels: SLUG_LABELS,
    });
  });
});

describe("sidecar user", () => {
  const plan = makePlan({ git: true, egress: true, supervise: true });
  const users = (host: { uid: number; gid: number }) =>
    Object.fromEntries(
      Object.entries(
        bottlePlanToCompose(plan, { envFileNonEmpty: false, sidecarUser: sidecarUserFor(host) })
          .services,
      ).map(([name, s]) => [name, s.user ?? null]),
    );

  it("is the CLI's own user when that is not root, so the 0600 files it staged are readable", () => {
    expect(users({ uid: 1001, gid: 1002 })).toEqual({
      pipelock: "1001:1002",
      "git-gate": null,
      egress: "1001:1002",
      supervise: "1001:1002",
      agent: null,
    });
  });

  it("is the fixed user 10001, never root, when the CLI runs as root", () => {
    expect(sidecarUserFor({ uid: 0, gid: 0 })).toEqual({ uid: 10001, gid: 10001 });
    expect(users({ uid: 0, gid: 0 })).toEqual({
      pipelock: "10001:10001",
      "git-gate": null,
      egress: "10001:10001",
      supervise: "10001:10001",
      agent: null,
    });
  });

  it("defaults to the fixed user when no facts are given", () => {
    expect(bottlePlanToCompose(plan).services.pipelock?.user).toBe("10001:10001");
  });
});

describe("agent options", () => {
  const base = makePlan({ git: false, egress: false, supervise: false });

  it("asks for runsc only when the plan says so", () => {
    expect(bottlePlanToCompose(base).services.agent?.runtime).toBeUndefined();
    expect(bottlePlanToCompose({ ...base, useRunsc: true }).services.agent?.runtime).toBe("runsc");
  });

  it("adds env_file only when the file is known to be non-empty", () => {
    expect(
      bottlePlanToCompose(base, { envFileNonEmpty: false, sidecarUser: HOST_USER }).services.agent
        ?.env_file,
    ).toBeUndefined();
    expect(
      bottlePlanToCompose(
        { ...base, envFile: null },
        { envFileNonEmpty: true, sidecarUser: HOST_USER },
      ).services.agent?.env_file,
    ).toBeUndefined();
  });
});

describe("agent program", () => {
  const base = makePlan({ git: false, egress: false, supervise: true });
  const pkg = {
    version: "0.171.0",
    hostDir: "/h/cache/agents/codex/0.171.0-linux-x64/package",
    binary: "vendor/x86_64-unknown-linux-musl/bin/codex",
    interpreter: null,
    pathDirs: ["vendor/x86_64-unknown-linux-musl/codex-path"],
  };
  const envOf = (plan: typeof base) => bottlePlanToCompose(plan).services.agent?.environment ?? [];

  it("mounts the cached package read-only at one place, and nothing without one", () => {
    const plan = { ...base, agentProvider: "codex" as const, agentPackage: pkg };
    expect(bottlePlanToCompose(plan).services.agent?.volumes).toContainEqual({
      type: "bind",
      source: pkg.hostDir,
      target: "/opt/claude-bottle/agent",
      read_only: true,
    });
    const none = bottlePlanToCompose(base).services.agent?.volumes ?? [];
    expect(none.map((v) => v.target)).not.toContain("/opt/claude-bottle/agent");
  });

  it("sets each provider's own variables beside the common CA ones", () => {
    const codex = envOf({ ...base, agentProvider: "codex" });
    expect(codex).toContain("CODEX_CA_CERTIFICATE=/etc/ssl/certs/ca-certificates.crt");
    expect(codex).toContain(
      "NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/claude-bottle.crt",
    );
    expect(codex.some((e) => e.startsWith("MCP_TOOL_TIMEOUT="))).toBe(false);
    const gemini = envOf({ ...base, agentProvider: "gemini" });
    expect(gemini).toContain(
      "NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/claude-bottle.crt",
    );
    expect(gemini.some((e) => /^(CODEX_|MCP_TOOL|DISABLE_AUTOUPDATER)/.test(e))).toBe(false);
    expect(envOf({ ...base, agentProvider: "claude" })).toContain("MCP_TOOL_TIMEOUT=660000");
  });
});

describe("pipelock known secrets", () => {
  it("passes the DLP secret slots to pipelock as bare sorted names, and none when there are none", () => {
    const base = makePlan({ git: false, egress: false, supervise: false });
    expect(bottlePlanToCompose(base).services.pipelock?.environment).toBeUndefined();
    const plan = {
      ...base,
      proxyPlan: { ...base.proxyPlan, secretEnv: ["PIPELOCK_SECRET_1", "PIPELOCK_SECRET_0"] },
    };
    expect(bottlePlanToCompose(plan).services.pipelock?.environment).toEqual([
      "PIPELOCK_SECRET_0",
      "PIPELOCK_SECRET_1",
    ]);
  });
});

describe("pipelock upstream CA", () => {
  it("mounts an extra upstream CA and names it in pipelock's env only when the plan has one", () => {
    const base = makePlan({ git: false, egress: false, supervise: false });
    expect(bottlePlanToCompose(base).services.pipelock?.volumes).toHaveLength(3);
    const plan = {
      ...base,
      proxyPlan: { ...base.proxyPlan, upstreamCaPath: "/certs/company.pem" },
    };
    const pipelock = bottlePlanToCompose(plan).services.pipelock;
    expect(pipelock?.volumes?.[3]).toEqual({
      type: "bind",
      source: "/certs/company.pem",
      target: "/etc/pipelock/upstream-ca.pem",
      read_only: true,
    });
    expect(pipelock?.environment).toEqual([
      "PIPELOCK_UPSTREAM_CA_FILE=/etc/pipelock/upstream-ca.pem",
    ]);
  });
});

describe("determinism", () => {
  it.each(MATRIX)("renders byte-identical YAML for the same plan (%o)", (point) => {
    const first = renderComposeYaml(bottlePlanToCompose(makePlan(point)));
    const second = renderComposeYaml(bottlePlanToCompose(makePlan(point)));
    expect(second).toBe(first);
  });

  it("does not depend on the order of token names or forwarded env", () => {
    const plan = makePlan({ git: false, egress: true, supervise: false });
    const shuffled = {
      ...plan,
      forwardedEnv: [...plan.forwardedEnv].reverse(),
      egressPlan: {
        ...plan.egressPlan,
        tokenEnvMap: Object.fromEntries(Object.entries(plan.egressPlan.tokenEnvMap).reverse()),
      },
    };
    expect(renderComposeYaml(bottlePlanToCompose(shuffled))).toBe(
      renderComposeYaml(bottlePlanToCompose(plan)),
    );
  });
});

describe("aggregateExtraHosts", () => {
  it("is empty without pins", () => {
    expect(aggregateExtraHosts([])).toEqual([]);
  });
});
