// A tiny MCP client that runs inside a bottle's agent container (bundled by the test with
// esbuild, since the agent image has node but no node_modules). It asks supervise for a
// host (CB_REQUEST_HOST, default approved.test), then for a gitleaks exception, and prints
// each answer on a line of its own.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = process.env.CB_SUPERVISE_URL ?? "http://supervise:8765/mcp";
const client = new Client({ name: "bottle-test-agent", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const options = { timeout: 240_000, resetTimeoutOnProgress: true };
const host = await client.callTool(
  {
    name: "request_egress_host",
    arguments: { host: process.env.CB_REQUEST_HOST ?? "approved.test", reason: "fetch the docs" },
  },
  undefined,
  options,
);
console.log(`RESULT host ${JSON.stringify(host.structuredContent ?? host)}`);
const leak = await client.callTool(
  {
    name: "request_gitleaks_exception",
    arguments: {
      fingerprint: "0123456789abcdef0123456789abcdef01234567:test/key.pem:private-key:1",
      reason: "a test fixture",
    },
  },
  undefined,
  options,
);
console.log(`RESULT leak ${JSON.stringify(leak.structuredContent ?? leak)}`);
await client.close();
