// An agent's MCP call, run inside a bottle's agent container (bundled by the test): asks
// supervise for the host given as its argument and prints the answer on one line.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const host = process.argv[2] ?? "approved.test";
const client = new Client({ name: "dashboard-test-agent", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL("http://supervise:8765/mcp")));
const answer = await client.callTool(
  { name: "request_egress_host", arguments: { host, reason: `fetch the docs on ${host}` } },
  undefined,
  { timeout: 240_000, resetTimeoutOnProgress: true },
);
console.log(`RESULT ${JSON.stringify(answer.structuredContent)}`);
await client.close();
