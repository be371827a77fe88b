// Serves the supervise MCP server over Streamable HTTP, stateless: every POST gets a fresh
// server and transport, so nothing lives in memory between calls and a restarted sidecar
// serves an agent's next call as if nothing happened. Host and Origin are checked first: a
// page that rebinds a name to this address must not reach the tools.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  SUPERVISE_HEALTH_PATH,
  SUPERVISE_HOSTNAME,
  SUPERVISE_MCP_PATH,
} from "../../contracts/supervise.js";

export const ALLOWED_HOSTNAMES: readonly string[] = [SUPERVISE_HOSTNAME, "localhost", "127.0.0.1"];

export interface HttpServerOptions {
  /** Address to listen on: 0.0.0.0 in the container, 127.0.0.1 in tests. */
  listenHost: string;
  /** 0 picks a free port. */
  port: number;
  createMcpServer: () => McpServer;
  /** SSE comment frames on a waiting call's stream, so no proxy or client drops it as idle. */
  keepAliveMs?: number;
  log?: (line: string) => void;
}

export interface RunningHttpServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startSuperviseHttpServer(
  options: HttpServerOptions,
): Promise<RunningHttpServer> {
  const log = options.log ?? (() => undefined);
  let port = options.port;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`error serving ${req.method} ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 500, jsonRpcError(-32603, "internal error"));
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = checkHostAndOrigin(req.headers.host, req.headers.origin, port);
    if (refusal !== null) {
      log(`refused ${req.method} ${req.url}: ${refusal}`);
      reply(res, 403, jsonRpcError(-32000, refusal));
      return;
    }
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === SUPERVISE_HEALTH_PATH && req.method === "GET") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path !== SUPERVISE_MCP_PATH) {
      reply(res, 404, jsonRpcError(-32000, `not found; the MCP endpoint is ${SUPERVISE_MCP_PATH}`));
      return;
    }
    if (req.method !== "POST") {
      // Stateless: no session to open a standalone stream for, nor to delete.
      res.setHeader("allow", "POST");
      reply(res, 405, jsonRpcError(-32000, "method not allowed"));
      return;
    }
    const mcp = options.createMcpServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      ...(options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {}),
    });
    // Closing aborts the tool call still waiting, so a client that went away stops the poll.
    res.on("close", () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.listenHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${options.listenHost}:${port}${SUPERVISE_MCP_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Null when the Host (and the Origin, if any) name this server; else why not. */
export function checkHostAndOrigin(
  host: string | undefined,
  origin: string | undefined,
  port: number,
): string | null {
  if (host === undefined) return "missing Host header";
  if (!namesThisServer(host, port)) return `Host "${host}" is not this server`;
  if (origin === undefined) return null;
  let originHost: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== "http:") return `Origin "${origin}" is not allowed`;
    originHost = url.host;
  } catch {
    return `Origin "${origin}" is not allowed`;
  }
  return namesThisServer(originHost, port) ? null : `Origin "${origin}" is not allowed`;
}

function namesThisServer(hostHeader: string, port: number): boolean {
  const match = /^([^:]+)(?::(\d+))?$/.exec(hostHeader.toLowerCase());
  if (match === null) return false;
  const [, name, portText] = match;
  if (!ALLOWED_HOSTNAMES.includes(name ?? "")) return false;
  // Loopback names are the tests' and a local client's, on whatever port; the bottle's
  // own name must come with the port the sidecar serves.
  if (name !== SUPERVISE_HOSTNAME) return true;
  return portText !== undefined && Number(portText) === port;
}

function jsonRpcError(code: number, message: string) {
  return { jsonrpc: "2.0", error: { code, message }, id: null };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
