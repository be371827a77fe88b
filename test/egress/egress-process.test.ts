import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  proxyRequest,
  TOKEN_VALUES,
  TOKENS,
  writeEgressFiles,
} from "../support/sidecars/egress-harness.js";
import { useSidecarBundle } from "../support/sidecars/sidecar-process.js";
import { newCa } from "../support/tls/test-ca.js";

const egress = useSidecarBundle("src/sidecars/egress/main.ts", "egress");
let files: Awaited<ReturnType<typeof writeEgressFiles>>;

beforeAll(async () => {
  files = await writeEgressFiles({
    routesYaml: `routes:
  - host: api.example.test
    paths: ["/v1/"]
    auth: { scheme: Bearer, tokenEnv: EGRESS_TOKEN_0 }
`,
    egressCa: await newCa("egress CA"),
    upstreamCaPem: (await newCa("pipelock CA")).certPem,
  });
});

afterAll(async () => {
  await rm(files.dir, { recursive: true, force: true });
});

function runEgress(env: Record<string, string>) {
  const run = egress.run([], {
    EGRESS_LISTEN: "127.0.0.1:0",
    EGRESS_ROUTES_FILE: files.routes,
    EGRESS_CA_FILE: files.ca,
    EGRESS_CA_KEY_FILE: files.caKey,
    EGRESS_UPSTREAM_CA: files.upstreamCa,
    EGRESS_UPSTREAM_PROXY: "http://127.0.0.1:9",
    ...env,
  });
  const listening = new Promise<number>((resolve, reject) => {
    run.child.stdout?.on("data", () => {
      const line = run
        .output()
        .stdout.split("\n")
        .find((l) => l.includes('"event":"listening"'));
      if (line !== undefined) resolve(Number(JSON.parse(line).address.split(":").pop()));
    });
    run.exited.then(() => reject(new Error(`egress exited: ${run.output().stderr}`)));
  });
  listening.catch(() => {});
  return { ...run, listening };
}

describe("the egress bundle", () => {
  it("refuses to start without a route's token, naming the variable on stderr", async () => {
    const run = runEgress({});
    expect(await run.exited).toBe(1);
    expect(run.output()).toEqual({
      stdout: "",
      stderr:
        "egress: refusing to start: route api.example.test: environment variable EGRESS_TOKEN_0 is unset or empty; egress needs it for the route's token\n" +
        "hint: set each variable in the environment of `docker compose up`; Compose passes it to egress by name\n",
    });
  });

  it("serves its endpoints, never prints the token, and stops on SIGTERM", async () => {
    const run = runEgress({ EGRESS_TOKEN_0: TOKENS.EGRESS_TOKEN_0 });
    const port = await run.listening;
    expect(await proxyRequest(port, "/__egress/healthz")).toMatchObject({
      status: 200,
      body: "ok\n",
    });
    const routes = await proxyRequest(port, "http://egress:8080/__egress/routes");
    expect(JSON.parse(routes.body)).toEqual({
      routes: [
        {
          host: "api.example.test",
          paths: ["/v1/"],
          methods: "all",
          scheme: "Bearer",
          tokenEnv: "EGRESS_TOKEN_0",
        },
      ],
    });
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    const { stdout, stderr } = run.output();
    expect(stderr).toBe("");
    expect(
      stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).event),
    ).toEqual(["listening", "request", "request"]);
    for (const value of TOKEN_VALUES) expect(stdout + routes.body).not.toContain(value);
  });
});
