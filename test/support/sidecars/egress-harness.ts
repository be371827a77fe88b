// Starts egress in-process against the fakes: its files in a temporary directory, its log
// lines and every outbound socket it opens recorded, and an agent-side client that talks to
// it the way an agent does (HTTPS_PROXY, CONNECT) through undici.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { type Dispatcher, ProxyAgent, request } from "undici";
import { afterEach, beforeAll } from "vitest";
import type { MintedCa } from "../../../src/shared/ca/index.js";
import type { HostPort } from "../../../src/sidecars/egress/egress-settings.js";
import { type RunningEgress, startEgress } from "../../../src/sidecars/egress/start-egress.js";
import { connectTcp } from "../../../src/sidecars/egress/upstream.js";
import { newCa } from "../tls/test-ca.js";
import {
  type Closable,
  type FakePipelock,
  type FakeUpstream,
  startFakePipelock,
  startHttpsUpstream,
  startHttpUpstream,
} from "./egress-fakes.js";

export interface TestEgress {
  port: number;
  running: RunningEgress;
  logs: string[];
  /** Every address egress opened a socket to. */
  dialled: HostPort[];
  files: { dir: string; routes: string; ca: string; caKey: string; upstreamCa: string };
  close(): Promise<void>;
}

export async function writeEgressFiles(options: {
  routesYaml: string;
  egressCa: MintedCa;
  upstreamCaPem: string;
}): Promise<TestEgress["files"]> {
  const dir = await mkdtemp(join(tmpdir(), "egress-test-"));
  const files = {
    dir,
    routes: join(dir, "routes.yaml"),
    ca: join(dir, "ca.pem"),
    caKey: join(dir, "ca-key.pem"),
    upstreamCa: join(dir, "pipelock-ca.pem"),
  };
  await writeFile(files.routes, options.routesYaml);
  await writeFile(files.ca, options.egressCa.certPem);
  await writeFile(files.caKey, options.egressCa.keyPem);
  await writeFile(files.upstreamCa, options.upstreamCaPem);
  return files;
}

export async function startTestEgress(options: {
  routesYaml: string;
  env: Record<string, string>;
  egressCa: MintedCa;
  pipelockPort: number;
  /** The CA egress trusts for its outbound TLS (pipelock's, or the upstream's when tunnelling). */
  upstreamCaPem: string;
}): Promise<TestEgress> {
  const files = await writeEgressFiles(options);
  const logs: string[] = [];
  const dialled: HostPort[] = [];
  let running: RunningEgress;
  try {
    running = await startEgress({
      settings: {
        listen: { host: "127.0.0.1", port: 0 },
        routesFile: files.routes,
        caCertFile: files.ca,
        caKeyFile: files.caKey,
        upstreamProxy: { host: "127.0.0.1", port: options.pipelockPort },
        upstreamCaFile: files.upstreamCa,
      },
      env: options.env,
      sink: (line) => logs.push(line),
      connect: (target) => {
        dialled.push(target);
        return connectTcp(target);
      },
    });
  } catch (error) {
    await rm(files.dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port: running.address.port,
    running,
    logs,
    dialled,
    files,
    close: async () => {
      await running.close();
      await rm(files.dir, { recursive: true, force: true });
    },
  };
}

export interface AgentResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An agent: HTTPS through egress as its proxy, trusting only `ca`. */
export class TestAgent {
  readonly dispatcher: ProxyAgent;

  constructor(egressPort: number, ca: string) {
    this.dispatcher = new ProxyAgent({
      uri: `http://127.0.0.1:${egressPort}`,
      requestTls: { ca },
    });
  }

  async fetch(
    url: string,
    init: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string } = {},
  ): Promise<AgentResponse> {
    const res = await request(url, {
      dispatcher: this.dispatcher,
      method: init.method ?? "GET",
      headers: init.headers,
      body: init.body,
    });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** The routes most tests use: one per scheme, with path and method limits on the first. */
export const ROUTES_YAML = `routes:
  - host: api.example.test
    paths: ["/v1/", "/v2/models"]
    methods: [GET, POST]
    auth: { scheme: Bearer, tokenEnv: EGRESS_TOKEN_0 }
  - host: basic.example.test
    auth: { scheme: Basic, tokenEnv: EGRESS_TOKEN_1 }
  - host: gh.example.test
    paths: ["/"]
    methods: all
    auth: { scheme: token, tokenEnv: EGRESS_TOKEN_2 }
  - host: key.example.test
    auth: { scheme: x-api-key, tokenEnv: EGRESS_TOKEN_3 }
`;

export const TOKENS = {
  EGRESS_TOKEN_0: "real-bearer-0f1e2d3c4b5a",
  EGRESS_TOKEN_1: "robot:real-basic-pass-9a8b",
  EGRESS_TOKEN_2: "ghp_realGitHubToken1234567890",
  EGRESS_TOKEN_3: "sk-real-api-key-7777",
};

export const TOKEN_VALUES = [
  ...Object.values(TOKENS),
  Buffer.from(TOKENS.EGRESS_TOKEN_1).toString("base64"),
];

/**
 * The two ways pipelock carries egress's traffic, for `describe.each`: named, then whether
 * it intercepts (startScenario's `intercept`).
 */
export const PIPELOCK_MODES: ReadonlyArray<readonly [string, boolean]> = [
  ["a tunnelling pipelock", false],
  ["an intercepting pipelock", true],
];

export interface TestCas {
  upstream: MintedCa;
  egress: MintedCa;
  pipelock: MintedCa;
}

export interface Scenario {
  upstream: FakeUpstream;
  plain: FakeUpstream;
  pipelock: FakePipelock;
  egress: TestEgress;
  /** An agent trusting `ca` (the egress CA unless told otherwise). */
  agent(ca?: string): TestAgent;
}

/**
 * Upstream, pipelock and egress wired together on loopback. Everything started is pushed
 * onto `cleanup` as soon as it runs, so a failing start still closes what came before.
 */
export async function startScenario(
  cas: TestCas,
  cleanup: Closable[],
  options: {
    intercept?: boolean;
    deny?: string[];
    resetIdleTunnelsMs?: number;
    routesYaml?: string;
    env?: Record<string, string>;
    upstreamCaPem?: string;
  } = {},
): Promise<Scenario> {
  const upstream = await startHttpsUpstream(cas.upstream);
  cleanup.push(upstream);
  const plain = await startHttpUpstream();
  cleanup.push(plain);
  const pipelock = await startFakePipelock({
    httpsPort: upstream.port,
    httpPort: plain.port,
    intercept: options.intercept ? { ca: cas.pipelock, upstreamCa: cas.upstream } : undefined,
    deny: options.deny,
    resetIdleTunnelsMs: options.resetIdleTunnelsMs,
  });
  cleanup.push(pipelock);
  const egress = await startTestEgress({
    routesYaml: options.routesYaml ?? ROUTES_YAML,
    env: options.env ?? TOKENS,
    egressCa: cas.egress,
    pipelockPort: pipelock.port,
    upstreamCaPem:
      options.upstreamCaPem ?? (options.intercept ? cas.pipelock.certPem : cas.upstream.certPem),
  });
  cleanup.push(egress);
  return {
    upstream,
    plain,
    pipelock,
    egress,
    agent: (ca = cas.egress.certPem) => {
      const agent = new TestAgent(egress.port, ca);
      cleanup.push(agent);
      return agent;
    },
  };
}

export async function newTestCas(): Promise<TestCas> {
  const [upstream, egress, pipelock] = await Promise.all([
    newCa("fake upstream CA"),
    newCa("egress CA"),
    newCa("fake pipelock CA"),
  ]);
  return { upstream, egress, pipelock };
}

export interface EgressBench {
  /** The file's CAs; set once its beforeAll has run. */
  readonly cas: TestCas;
  /** A scenario whose parts are all closed after the test that started it. */
  startScenario(options?: Parameters<typeof startScenario>[2]): Promise<Scenario>;
}

/**
 * Call at a test file's top level: mints the CAs once for the file and closes everything a
 * test's scenarios started after each test.
 */
export function useEgressBench(): EgressBench {
  let cas: TestCas | undefined;
  const cleanup: Closable[] = [];
  beforeAll(async () => {
    cas = await newTestCas();
  });
  afterEach(() => closeAll(cleanup));
  const ready = () => {
    if (cas === undefined) throw new Error("the egress bench's CAs are minted in beforeAll");
    return cas;
  };
  return {
    get cas() {
      return ready();
    },
    startScenario: (options) => startScenario(ready(), cleanup, options),
  };
}

/** Closes in reverse start order; for afterEach. */

export async function closeAll(cleanup: Closable[]): Promise<void> {
  for (const c of cleanup.splice(0).reverse()) await c.close();
}

/** One request straight to egress, e.g. absolute-form "http://host/x" or "/__egress/routes". */
export function proxyRequest(
  egressPort: number,
  target: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<AgentResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: egressPort,
        method: init.method ?? "GET",
        path: target,
        headers: init.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A CONNECT to egress: its status line and whatever body came with a refusal. */
export function connectRequest(
  egressPort: number,
  authority: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: egressPort,
      method: "CONNECT",
      path: authority,
      agent: false,
    });
    req.on("connect", (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      const chunks: Buffer[] = [head];
      if (res.statusCode === 200) {
        socket.destroy();
        resolve({ status: 200, body: "" });
        return;
      }
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("close", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * HTTPS to `host` through a CONNECT to egress, by hand: unlike undici, it sends any header
 * the test asks for (Proxy-Authorization and Host included) inside the tunnel.
 */
export function tunnelledRequest(
  egressPort: number,
  options: {
    host: string;
    path: string;
    ca: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  },
): Promise<AgentResponse> {
  return new Promise((resolve, reject) => {
    const connect = http.request({
      host: "127.0.0.1",
      port: egressPort,
      method: "CONNECT",
      path: `${options.host}:443`,
      agent: false,
    });
    connect.on("error", reject);
    connect.on("connect", (res: http.IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`CONNECT answered ${res.statusCode}`));
        return;
      }
      const req = https.request(
        {
          host: options.host,
          port: 443,
          defaultPort: 443,
          method: options.method ?? "GET",
          path: options.path,
          headers: options.headers,
          // No agent: Node then uses createConnection instead of dialling the host.
          createConnection: () => tls.connect({ socket, servername: options.host, ca: options.ca }),
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => {
            socket.destroy();
            resolve({
              status: r.statusCode ?? 0,
              headers: r.headers,
              body: Buffer.concat(chunks).toString("utf8"),
            });
          });
        },
      );
      req.on("error", reject);
      req.end(options.body);
    });
    connect.end();
  });
}
