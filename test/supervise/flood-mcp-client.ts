// A hostile agent's MCP client, run inside a bottle's agent container (bundled with esbuild):
// files every request in CB_FLOOD_REQUESTS at once, each over its own connection, appends a
// line to CB_FLOOD_LOG as each call learns its proposal id (the first progress notification),
// and prints one RESULT line per call when all are done.
import { appendFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = process.env.CB_SUPERVISE_URL ?? "http://supervise:8765/mcp";
/** "host" or "host|port", separated by spaces. */
const requests = (process.env.CB_FLOOD_REQUESTS ?? "").split(" ").filter(Boolean);
const log = process.env.CB_FLOOD_LOG ?? "/tmp/flood.log";
const timeout = Number(process.env.CB_FLOOD_TIMEOUT_MS ?? 240_000);

async function one(i: number, entry: string): Promise<Record<string, unknown>> {
  const [host, port] = entry.split("|");
  const client = new Client({ name: `flood-${i}`, version: "1.0.0" });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    let logged = false;
    const result = await client.callTool(
      {
        name: "request_egress_host",
        arguments: { host, ...(port ? { port: Number(port) } : {}), reason: `flood ${i}` },
      },
      undefined,
      {
        timeout,
        resetTimeoutOnProgress: false,
        onprogress: (p) => {
          if (logged) return;
          logged = true;
          appendFileSync(log, `${i} ${p.message ?? ""}\n`);
        },
      },
    );
    if (result.isError) {
      const text = (result.content as Array<{ text?: string }>)[0]?.text ?? "";
      appendFileSync(log, `${i} refused\n`);
      return { i, entry, refused: text };
    }
    return { i, entry, ...(result.structuredContent as Record<string, unknown>) };
  } catch (error) {
    return { i, entry, failed: (error as Error).message };
  } finally {
    await client.close().catch(() => undefined);
  }
}

const results = await Promise.all(requests.map((entry, i) => one(i, entry)));
for (const result of results) console.log(`RESULT ${JSON.stringify(result)}`);
