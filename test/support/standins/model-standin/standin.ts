// The model stand-in (src/demo/model-standin-server.mjs, built to dist/demo/) as a container
// on a bottle's egress network, under the hostnames a test gives it, with a certificate per
// name from the test's upstream CA; and what it recorded, read back.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { NODE_IMAGE } from "../../../../src/backend/engine/images.js";
import { loadCa, mintLeafCertificate } from "../../../../src/shared/ca/index.js";
import { docker } from "../../docker/git-gate-docker.js";
import type { UpstreamCa } from "../../tls/test-ca.js";
import type { EscapeScope } from "../escape-standins.js";

export const STANDIN_SERVER = fileURLToPath(
  new URL("../../../../dist/demo/model-standin-server.mjs", import.meta.url),
);

/** A turn of the script: a shell command, a declared tool by name (or its end), or the answer. */
export type ScriptTurn =
  | { shell: string }
  | { tool: string; args?: Record<string, unknown> }
  | { text: string };

export type Provider = "anthropic" | "openai" | "gemini";

/** One request as the stand-in recorded it. */
export interface ModelRequest {
  at: string;
  provider: Provider | null;
  method: string;
  path: string;
  query: string;
  host: string | null;
  tls: boolean;
  headers: Record<string, string | string[]>;
  // biome-ignore lint/suspicious/noExplicitAny: the provider's own request body, read per provider
  body: any;
  reply: { kind: string; turnIndex: number | null; name?: string; message?: string };
}

export interface ModelStandIn {
  container: string;
  requests(): Promise<ModelRequest[]>;
}

/**
 * Starts the stand-in on `network` as `hostnames` (HTTPS on 443, HTTP on 80), playing
 * `turns` for every provider. The files are copied in, not mounted.
 */
export async function startModelStandIn(
  scope: EscapeScope,
  options: { network: string; ca: UpstreamCa; hostnames: string[]; turns: ScriptTurn[] },
): Promise<ModelStandIn> {
  const dir = await mkdtemp(join(tmpdir(), "cb-model-standin-"));
  try {
    const signing = await loadCa(options.ca.ca);
    const certs: Record<string, { cert: string; key: string }> = {};
    for (const host of options.hostnames) {
      const leaf = await mintLeafCertificate(signing, host, { now: new Date() });
      certs[host] = { cert: leaf.chainPem, key: leaf.keyPem };
    }
    await writeFile(join(dir, "certs.json"), JSON.stringify(certs));
    await writeFile(join(dir, "script.json"), JSON.stringify({ turns: options.turns }));
    const { readFile } = await import("node:fs/promises");
    await writeFile(join(dir, "server.mjs"), await readFile(STANDIN_SERVER));
    const container = scope.name("model");
    await docker([
      "create",
      "--name",
      container,
      ...scope.labels(),
      "--network",
      options.network,
      ...options.hostnames.flatMap((h) => ["--network-alias", h]),
      "-e",
      "STANDIN_CERTS=/srv/certs.json",
      "-e",
      "STANDIN_SCRIPT=/srv/script.json",
      "-e",
      "STANDIN_RECORD=/tmp/model-requests.jsonl",
      "--entrypoint",
      "node",
      NODE_IMAGE,
      "/srv/server.mjs",
    ]);
    await docker(["cp", `${dir}/.`, `${container}:/srv`]);
    await docker(["start", container]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = await docker(
        [
          "exec",
          container,
          "node",
          "-e",
          "require('net').connect(443,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
        ],
        { allowFailure: true },
      );
      if (probe.code === 0) break;
      if (Date.now() > deadline)
        throw new Error(`the model stand-in did not come up:\n${probe.stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      container,
      async requests() {
        const { stdout } = await docker([
          "exec",
          container,
          "sh",
          "-c",
          "cat /tmp/model-requests.jsonl 2>/dev/null || true",
        ]);
        return stdout
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ModelRequest);
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The requests that played a turn of the script (not side requests), in order. */
export function turnRequests(requests: readonly ModelRequest[]): ModelRequest[] {
  return requests.filter((r) => r.reply.turnIndex !== null && r.reply.turnIndex !== undefined);
}

/**
 * What the agent sent back as the result of turn `index`: the newest tool result in the
 * conversation of the first request that played turn `index + 1` (each turn makes one tool
 * call, so the newest result is that turn's), whatever the provider's shape. Agents may put
 * other messages after it (Claude Code adds system notes), so it is looked for, not assumed
 * last.
 */
export function toolResultOf(requests: readonly ModelRequest[], index: number): string {
  const next = turnRequests(requests).find((r) => r.reply.turnIndex === index + 1);
  if (next === undefined) return "";
  const body = next.body ?? {};
  const results: string[] = [];
  if (next.provider === "anthropic") {
    for (const m of body.messages ?? []) {
      for (const c of Array.isArray(m.content) ? m.content : []) {
        if (c.type === "tool_result") results.push(flatten(c.content));
      }
    }
  } else if (next.provider === "openai") {
    for (const i of Array.isArray(body.input) ? body.input : []) {
      if (i.type === "function_call_output" || i.type === "custom_tool_call_output") {
        results.push(flatten(i.output));
      }
    }
  } else if (next.provider === "gemini") {
    for (const c of body.contents ?? []) {
      for (const p of c.parts ?? []) {
        if (p.functionResponse) results.push(flatten(p.functionResponse.response));
      }
    }
  }
  return results.at(-1) ?? "";
}

function flatten(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(flatten).join("\n");
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.text === "string") return o.text;
    return Object.values(o).map(flatten).join("\n");
  }
  return value === undefined || value === null ? "" : String(value);
}
