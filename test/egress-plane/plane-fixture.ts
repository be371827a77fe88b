// What the egress-plane tests share: a bottle with a stand-in upstream on its egress network,
// requests sent from inside the agent (curl, or the raw client when curl cannot say it),
// pipelock's logs read back, and its policy file rewritten in place as the CLI does.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll } from "vitest";
import { parse, stringify } from "yaml";
import { makeTestHome, type TestHome, writeAgentBottle } from "../support/cli/cli-process.js";
import {
  copyIntoAgent,
  type FakeUpstream,
  type RunningBottle,
  removeBottleStandIns,
  startBottle,
  startFakeUpstream,
} from "../support/docker/bottle-harness.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { bottleYaml } from "../support/fixtures/bottle-yaml.js";
import { FAKE_CREDENTIALS } from "../support/fixtures/fake-credentials.js";
import { makeUpstreamCa, type UpstreamCa } from "../support/tls/test-ca.js";

const run = promisify(execFile);

/** The bottle's own secret: a host value forwarded to the agent with `from_env`. */
export const KNOWN_SECRET = "cbtest-known-7f3a9c2e5b1d4086";
/** A route's token: only egress holds it. */
export const ROUTE_TOKEN = "cbtest-route-token-91d0c4e7aa52";
/** Provider-shaped credentials, assembled at run time (see fake-credentials.ts). */
export const AWS_KEY = FAKE_CREDENTIALS["aws-access-token"]?.hit ?? "";
export const GITHUB_TOKEN = FAKE_CREDENTIALS["github-pat"]?.hit ?? "";

export const ALLOWED = "allowed.example.test";
export const ROUTE_HOST = "api.example.test";
export const UNLISTED = "unlisted.example.test";
export const ADDED = "added.example.test";

/**
 * A plane's bottle: ALLOWED allowed; with `route`, ROUTE_HOST routed on /v1/ with the token
 * startPlane gives egress (ROUTE_TOKEN); with `knownSecret`, the agent holding KNOWN_SECRET as
 * $CB_KNOWN_SECRET; `dlp` as given; supervised only when asked.
 */
export function planeBottle(options: {
  knownSecret?: boolean;
  route?: boolean;
  dlp?: "block" | "warn";
  supervise?: boolean;
}): string {
  const { knownSecret = false, route = false, dlp, supervise = false } = options;
  return bottleYaml({
    ...(knownSecret ? { fromEnv: { CB_KNOWN_SECRET: "CB_PLANE_KNOWN" } } : {}),
    allow: [ALLOWED],
    ...(route
      ? { routes: [{ host: ROUTE_HOST, paths: ["/v1/"], tokenEnv: "CB_PLANE_TOKEN" }] }
      : {}),
    ...(dlp === undefined ? {} : { dlp }),
    supervise,
  });
}

/** Every form of every secret above that must never appear in a log. */
export function secretForms(): string[] {
  return [KNOWN_SECRET, ROUTE_TOKEN, AWS_KEY, GITHUB_TOKEN].flatMap((s) => [
    s,
    Buffer.from(s).toString("base64"),
    Buffer.from(s).toString("hex"),
  ]);
}

export interface SecretPlace {
  /** The place in words, also the last segment of the request's path. */
  where: "body" | "header" | "query" | "path";
  /** Where pipelock's audit line says it found the secret. */
  location: string;
  /** curl's arguments that put `secret` there, on a path under `/<prefix>/`. */
  args(secret: string): string[];
}

/** Where a request to ALLOWED can carry a secret: body, header, query and path. */
export function secretPlaces(prefix: string): SecretPlace[] {
  const url = `https://${ALLOWED}/${prefix}`;
  return [
    {
      where: "body",
      location: "body.json:$.note",
      args: (s) => [
        "-H",
        "content-type: application/json",
        "--data-binary",
        JSON.stringify({ note: s }),
        `${url}/body`,
      ],
    },
    {
      where: "header",
      location: "header:x-note",
      args: (s) => ["-H", `X-Note: ${s}`, `${url}/header`],
    },
    { where: "query", location: "query", args: (s) => [`${url}/query?note=${s}`] },
    { where: "path", location: "path", args: (s) => [`${url}/path/${s}`] },
  ];
}

export interface Plane {
  t: TestHome;
  bottle: RunningBottle;
  upstream: FakeUpstream;
  /** The upstream's address on the bottle's egress network. */
  upstreamIp: string;
  /** Requests the upstream received whose URL contains `marker`. */
  seen(marker: string): ReturnType<FakeUpstream["requests"]>;
  /** Runs curl in the agent; the status is 0 when no HTTP answer came. */
  curl(args: string[]): Promise<{ status: number; body: string; stderr: string }>;
  /** A raw exchange through the agent's proxy (or `spec.proxy`), see agent-net-client.mjs. */
  exchange(spec: ExchangeSpec): Promise<ExchangeResult>;
  flood(spec: FloodSpec): Promise<{ sent: number; answered: number; ms: number; error?: string }>;
  /**
   * pipelock's audit lines written at or after `since`, once there are at least `count` of
   * them: the engine collects a container's stdout asynchronously, so the last lines can lag.
   */
  auditSince(since: Date, count: number): Promise<AuditLine[]>;
  /** Everything pipelock wrote, audit log and diagnostics. */
  pipelockLogs(): Promise<string>;
  egressLogs(): Promise<string>;
  policyPath: string;
  dispose(): Promise<void>;
}

export interface AuditLine {
  ts: string;
  method: string;
  host: string;
  port: number;
  path: string | null;
  decision: string;
  rule: string | null;
  location: string | null;
  status?: number;
  detail?: string;
}

export interface ExchangeSpec {
  proxy?: string;
  connect?: string;
  tls?: { servername?: string; verifyHost?: boolean };
  steps: Array<
    | { send: Array<{ text: string; delayMs?: number }>; raw?: boolean; quietMs?: number }
    | { waitForFile: string }
  >;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  head: string;
  body: string;
  /** For raw reads: whether the peer closed the connection. */
  closed?: boolean;
}

export interface ExchangeResult {
  connect?: RawResponse;
  peer?: { subject: string | null; issuer: string | null; authorized: boolean; error: string };
  responses: RawResponse[];
  error?: string;
}

export interface FloodSpec {
  proxy: string;
  count: number;
  allowed: string;
  tunnel: string;
  seed?: number;
}

const CLIENT_SOURCE = fileURLToPath(new URL("./agent-net-client.mjs", import.meta.url));
const CLIENT_IN_AGENT = "/tmp/agent-net-client.mjs";

/**
 * Call in a describe body: the plane starts before the file's tests and is disposed of after
 * them. Its members are read through to the started plane, so use them in hooks and tests.
 */
export function usePlane(options: Parameters<typeof startPlane>[0]): Plane {
  let plane: Plane | undefined;
  beforeAll(async () => {
    plane = await startPlane(options);
  });
  afterAll(async () => {
    await plane?.dispose();
  });
  return new Proxy({} as Plane, {
    get(_, key) {
      if (plane === undefined) throw new Error("the plane starts in the file's beforeAll");
      return plane[key as keyof Plane];
    },
  });
}

/** A home with the bottle and its agent, the bottle started, and the stand-in upstream attached. */
export async function startPlane(options: {
  name: string;
  bottleYaml: string;
  upstreamHosts: string[];
}): Promise<Plane> {
  const t = await makeTestHome();
  let ca: UpstreamCa | undefined;
  let bottle: RunningBottle | undefined;
  try {
    ca = await makeUpstreamCa();
    await writeAgentBottle(t, options.name, options.bottleYaml);
    bottle = await startBottle(t, options.name, {
      CB_PLANE_KNOWN: KNOWN_SECRET,
      CB_PLANE_TOKEN: ROUTE_TOKEN,
      CLAUDE_BOTTLE_UPSTREAM_CA: ca.caFile,
    });
    const upstream = await startFakeUpstream(bottle, ca, options.upstreamHosts);
    copyIntoAgent(bottle, CLIENT_SOURCE, CLIENT_IN_AGENT);
    return makePlane(t, ca, bottle, upstream);
  } catch (error) {
    if (bottle !== undefined) await removeBottleStandIns(bottle);
    await bottle?.stop();
    await ca?.dispose();
    await t.dispose();
    throw error;
  }
}

async function makePlane(
  t: TestHome,
  ca: UpstreamCa,
  bottle: RunningBottle,
  upstream: FakeUpstream,
): Promise<Plane> {
  const { stdout: ip } = await run(
    "docker",
    [
      "inspect",
      "-f",
      `{{(index .NetworkSettings.Networks "${bottle.egressNetwork}").IPAddress}}`,
      upstream.container,
    ],
    { env: { ...process.env, ...upstream.env } },
  );
  const logs = async (service: "pipelock" | "egress") => {
    const { stdout, stderr } = await run("docker", ["logs", bottle.containerOf(service)], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ...bottle.engine },
    });
    return `${stdout}${stderr}`;
  };
  const runClient = async (spec: object) => {
    const arg = Buffer.from(JSON.stringify(spec)).toString("base64");
    const r = await bottle.exec(`node ${CLIENT_IN_AGENT} ${arg}`, { timeoutMs: 120_000 });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (!line.startsWith("{")) throw new Error(`the agent's client failed:\n${r.stderr}`);
    return JSON.parse(line);
  };
  return {
    t,
    bottle,
    upstream,
    upstreamIp: ip.trim(),
    async seen(marker) {
      return (await upstream.requests()).filter((q) => q.url.includes(marker));
    },
    async curl(args) {
      const r = await bottle.exec(
        `curl -sS -m 20 -w '\\n%{http_code}' ${args.map(shellQuote).join(" ")}`,
      );
      const at = r.stdout.lastIndexOf("\n");
      return {
        status: Number(r.stdout.slice(at + 1)) || 0,
        body: r.stdout.slice(0, Math.max(0, at)),
        stderr: r.stderr,
      };
    },
    exchange(spec) {
      return runClient({
        mode: "exchange",
        ...spec,
        steps: spec.steps.map((step) =>
          "send" in step
            ? {
                ...step,
                send: step.send.map((part) => ({
                  data: Buffer.from(part.text, "latin1").toString("base64"),
                  ...(part.delayMs === undefined ? {} : { delayMs: part.delayMs }),
                })),
              }
            : step,
        ),
      });
    },
    flood(spec) {
      return runClient({ mode: "flood", ...spec });
    },
    async auditSince(since, count) {
      const read = async () =>
        ((await bottle.pipelockAudit()) as unknown as AuditLine[]).filter(
          (l) => Date.parse(l.ts) >= since.getTime(),
        );
      const deadline = Date.now() + 10_000;
      let lines = await read();
      while (lines.length < count && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        lines = await read();
      }
      return lines;
    },
    pipelockLogs: () => logs("pipelock"),
    egressLogs: () => logs("egress"),
    policyPath: join(t.home, "state", bottle.slug, "pipelock", "pipelock.yaml"),
    async dispose() {
      try {
        // The stand-in first: Compose cannot remove a network a container is still attached to.
        await upstream.remove();
        await removeBottleStandIns(bottle);
        await bottle.stop();
      } finally {
        await ca.dispose();
        await t.dispose();
      }
      const left = leftoversOf(bottle.slug);
      if (JSON.stringify(left) !== JSON.stringify(nothingLeft())) {
        throw new Error(`bottle ${bottle.slug} left behind ${JSON.stringify(left)}`);
      }
    },
  };
}

/** `text`, one request sent whole, on an intercepted tunnel to `authority` (host:port). */
export function requestInTunnel(
  plane: Pick<Plane, "exchange">,
  authority: string,
  text: string,
): Promise<ExchangeResult> {
  return plane.exchange({ connect: authority, tls: {}, steps: [{ send: [{ text }] }] });
}

/**
 * Domain fronting in a tunnel to ALLOWED: a TLS server name naming UNLISTED (GET
 * /fronting-sni), then a Host header naming it (GET /fronting-host).
 */
export async function frontedTunnels(
  plane: Pick<Plane, "exchange">,
): Promise<{ sni: ExchangeResult; host: ExchangeResult }> {
  const sni = await plane.exchange({
    connect: `${ALLOWED}:443`,
    tls: { servername: UNLISTED, verifyHost: false },
    steps: [{ send: [{ text: httpRequest("GET", "/fronting-sni", { Host: ALLOWED }) }] }],
  });
  const host = await requestInTunnel(
    plane,
    `${ALLOWED}:443`,
    httpRequest("GET", "/fronting-host", { Host: UNLISTED }),
  );
  return { sni, host };
}

export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Waits until `probe` returns something other than undefined. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Rewrites pipelock's policy file in place (a single-file bind mount sees only in-place writes)
 * and waits until pipelock says it reloaded.
 */
export async function rewritePolicy(
  plane: Plane,
  change: (policy: { allow: string[] } & Record<string, unknown>) => void,
): Promise<void> {
  const reloads = async () =>
    (await plane.pipelockLogs()).split("\n").filter((l) => l.includes("policy reloaded")).length;
  const before = await reloads();
  const policy = parse(await readFile(plane.policyPath, "utf8"));
  change(policy);
  await writeFile(plane.policyPath, stringify(policy));
  await waitFor("pipelock to reload its policy", async () =>
    (await reloads()) > before ? true : undefined,
  );
}

/** A request as sent on the wire, for the raw client. */
export function httpRequest(
  method: string,
  target: string,
  headers: Record<string, string>,
  body = "",
): string {
  const lines = Object.entries(headers).map(([n, v]) => `${n}: ${v}\r\n`);
  return `${method} ${target} HTTP/1.1\r\n${lines.join("")}\r\n${body}`;
}

/**
 * Two POSTs on one intercepted tunnel to `host`: a gzip'd body whole, then a chunked body
 * whose `pieces` are sent as separate chunks, `delayMs` apart (a secret split across chunks).
 */
export function gzipThenChunked(
  plane: Plane,
  options: {
    host: string;
    gzip: { path: string; contentType: string; body: string };
    chunked: { path: string; pieces: string[]; delayMs: number };
  },
): Promise<ExchangeResult> {
  const { host, gzip, chunked } = options;
  const gz = gzipSync(gzip.body).toString("latin1");
  const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`;
  const [first = "", ...rest] = chunked.pieces;
  return plane.exchange({
    connect: `${host}:443`,
    tls: {},
    steps: [
      {
        send: [
          {
            text: httpRequest(
              "POST",
              gzip.path,
              {
                Host: host,
                "Content-Type": gzip.contentType,
                "Content-Encoding": "gzip",
                "Content-Length": String(gz.length),
              },
              gz,
            ),
          },
        ],
      },
      {
        send: [
          {
            text: `${httpRequest("POST", chunked.path, {
              Host: host,
              "Content-Type": "text/plain",
              "Transfer-Encoding": "chunked",
            })}${chunk(first)}`,
          },
          ...rest.map((piece, i) => ({
            text: i === rest.length - 1 ? `${chunk(piece)}0\r\n\r\n` : chunk(piece),
            delayMs: chunked.delayMs,
          })),
        ],
      },
    ],
  });
}
