// egress's only way out: connections to pipelock. CONNECT tunnels for raw relays and for the
// TLS leg of routed requests, plain connections for forwarded http:// requests. Every socket
// egress opens is made by the `connect` function given here, so a test can prove there is no
// other way out.
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { HostPort } from "./egress-settings.js";

export type ConnectFn = (target: HostPort) => net.Socket;

// No Nagle: a request's last small segment must not wait for the ACK of the one before.
export const connectTcp: ConnectFn = ({ host, port }) => net.connect({ host, port, noDelay: true });

export interface UpstreamOptions {
  proxy: HostPort;
  connect: ConnectFn;
}

/** pipelock's answer to a CONNECT: its status and the raw bytes of its response head. */
export interface TunnelResponse {
  socket: net.Socket;
  statusCode: number;
  statusLine: string;
  /** Status line and headers, CRLFCRLF included, exactly as pipelock sent them. */
  head: Buffer;
  /** Bytes after the head that arrived with it. */
  rest: Buffer;
}

const MAX_HEAD_BYTES = 16 * 1024;
const TUNNEL_TIMEOUT_MS = 30_000;

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
}

/** Asks pipelock for a tunnel to `authority` ("host:port") and reads its response head. */
export function openTunnel(upstream: UpstreamOptions, authority: string): Promise<TunnelResponse> {
  const { proxy } = upstream;
  return new Promise((resolve, reject) => {
    const socket = upstream.connect(proxy);
    let buffered = Buffer.alloc(0);
    const fail = (error: Error) => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error) =>
      fail(
        new UpstreamError(`cannot reach pipelock at ${proxy.host}:${proxy.port}: ${error.message}`),
      );
    const onClose = () => fail(new UpstreamError("pipelock closed the connection during CONNECT"));
    const onTimeout = () => fail(new UpstreamError("pipelock did not answer CONNECT in time"));
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buffered.length > MAX_HEAD_BYTES)
          fail(new UpstreamError("pipelock sent an oversized response head"));
        return;
      }
      const head = buffered.subarray(0, end + 4);
      const statusLine = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      if (match === null) {
        fail(new UpstreamError("pipelock sent a malformed response to CONNECT"));
        return;
      }
      cleanup();
      socket.pause();
      resolve({
        socket,
        statusCode: Number(match[1]),
        statusLine,
        head,
        rest: buffered.subarray(end + 4),
      });
    };
    const cleanup = () => {
      socket.setTimeout(0);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
      socket.off("timeout", onTimeout);
    };
    socket.setTimeout(TUNNEL_TIMEOUT_MS);
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.on("timeout", onTimeout);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

export interface TunnelAgentOptions extends UpstreamOptions {
  /** PEM certificates trusted for upstream TLS: pipelock's CA (pipelock intercepts every tunnel). */
  ca: string[];
}

/**
 * An https.Agent whose connections are TLS inside CONNECT tunnels through pipelock. Sockets
 * are kept alive and reused per host like any agent's.
 */
export class TunnelAgent extends https.Agent {
  readonly #upstream: TunnelAgentOptions;
  /** Built once: a context per tunnel re-parsed every trusted certificate each time. */
  readonly #secureContext: tls.SecureContext;

  constructor(upstream: TunnelAgentOptions) {
    // As many idle tunnels as active ones: fewer closed pooled tunnels under load and made
    // each request pay a new CONNECT and TLS handshake.
    super({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, scheduling: "lifo" });
    this.#upstream = upstream;
    this.#secureContext = tls.createSecureContext({ ca: upstream.ca });
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.servername ?? options.hostname ?? options.host ?? "";
    const port = Number(options.port ?? 443);
    let done = false;
    const finish = (error: Error | null, stream?: Duplex) => {
      if (done) return;
      done = true;
      if (error !== null) callback?.(error, undefined as unknown as Duplex);
      else if (stream !== undefined) callback?.(null, stream);
    };
    openTunnel(this.#upstream, `${host.includes(":") ? `[${host}]` : host}:${port}`)
      .then((tunnel) => {
        if (tunnel.statusCode < 200 || tunnel.statusCode > 299) {
          tunnel.socket.destroy();
          // pipelock's page says what was blocked and how to ask for it: pass it on.
          const page = tunnel.rest.subarray(0, 1024).toString("utf8").trim();
          const detail = page === "" ? "" : `: ${page}`;
          throw new UpstreamError(
            `pipelock refused the tunnel to ${host}:${port} (${tunnel.statusLine})${detail}`,
          );
        }
        if (tunnel.rest.length > 0) tunnel.socket.unshift(tunnel.rest);
        const secure = tls.connect({
          socket: tunnel.socket,
          servername: net.isIP(host) === 0 ? host : undefined,
          secureContext: this.#secureContext,
          ALPNProtocols: ["http/1.1"],
        });
        secure.once("secureConnect", () => finish(null, secure));
        secure.once("error", (error) => {
          secure.destroy();
          finish(new UpstreamError(`TLS to ${host} through pipelock failed: ${error.message}`));
        });
      })
      .catch((error: Error) => finish(error));
    return undefined;
  }
}

/** An http.Agent for forwarded http:// requests, whose every socket goes to pipelock. */
export class ForwardAgent extends http.Agent {
  readonly #upstream: UpstreamOptions;

  constructor(upstream: UpstreamOptions) {
    super({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64, scheduling: "lifo" });
    this.#upstream = upstream;
  }

  override createConnection(): Duplex {
    return this.#upstream.connect(this.#upstream.proxy);
  }
}
