// WebSocket upgrades to a route host: the upgrade request goes on through pipelock like any
// request (the agent's credentials stripped, the route's token injected when a route
// matches), pipelock scans every frame the agent sends, and egress reads every frame the
// upstream sends back and takes route tokens out of it before the agent sees it.
//
// The agent's frames are relayed as they are: they cannot carry the route token (the agent
// never has it) and pipelock reads each one. The upstream's frames are parsed, their payloads
// scrubbed (text, binary, continuation and control frames alike; a token cut across the
// fragments of a message is still found) and framed again. Compression is never negotiated:
// Sec-WebSocket-Extensions is not sent upstream, and an answer that names an extension anyway,
// or a frame with an RSV bit set, ends the connection. Reading compressed frames would mean
// inflating them (permessage-deflate keeps one window across the whole connection), while
// refusing the offer costs only bandwidth on a leg that stays inside the bottle's networks.
// A frame egress cannot parse ends the connection: nothing unread reaches the agent.
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import * as https from "node:https";
import type { Duplex } from "node:stream";
import { headerPairs } from "../../shared/hop-headers.js";
import {
  closeFrame,
  type WsFrame,
  WsFrameReader,
  WsProtocolError,
} from "../../shared/websocket-frames.js";
import { gateHead, isEventStream, rawErrorResponse } from "./relay.js";
import type { RequestLogEntry } from "./request-log.js";
import {
  type GuardFinding,
  type ResponseGuard,
  TokenWithheldError,
  withheldMessage,
} from "./response-guard.js";
import { scrubResponse } from "./response-scrub.js";
import { errorText } from "./routes-config.js";
import { scrubText, type TokenForm, TokenScrubber } from "./token-scrub.js";
import type { TunnelAgent } from "./upstream.js";

/** One frame from the upstream is held whole to be scrubbed: larger ones end the connection. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface UpgradeRelay {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  host: string;
  port: number;
  /** Origin-form path and query. */
  path: string;
  /** Headers for the upstream request (credentials already stripped, token added). */
  headers: OutgoingHttpHeaders;
  agent: TunnelAgent;
  scrub: readonly TokenForm[];
  /** Reads the scrubbed head and every message for what the scrub left of a token. */
  guard?: ResponseGuard;
  redact: (text: string) => string;
  /** Called once, when the exchange is over either way. */
  done: (
    outcome: Pick<RequestLogEntry, "status" | "error" | "requestBytes" | "responseBytes">,
  ) => void;
}

/** The headers for an upgrade upstream: no extension is offered, so no frame is compressed. */
export function upgradeHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...headers };
  delete out["sec-websocket-extensions"];
  delete out["accept-encoding"];
  out.connection = "Upgrade";
  out.upgrade = "websocket";
  return out;
}

export function relayUpgrade(relay: UpgradeRelay): void {
  const { socket, redact } = relay;
  let settled = false;
  const bytes = { requestBytes: 0, responseBytes: 0 };
  const settle = (outcome: { status: number; error?: string }) => {
    if (settled) return;
    settled = true;
    relay.done({ ...outcome, ...bytes });
  };
  const fail = (status: number, message: string) => {
    const text = redact(message);
    if (socket.writable) {
      socket.end(rawErrorResponse(status, status === 502 ? "Bad Gateway" : "Error", text));
    } else socket.destroy();
    settle({ status, error: text });
  };

  let upstream: ClientRequest;
  try {
    upstream = https.request({
      agent: relay.agent,
      host: relay.host,
      port: relay.port,
      servername: relay.host,
      method: "GET",
      path: relay.path,
      headers: upgradeHeaders(relay.headers),
    });
  } catch (error) {
    fail(502, `egress could not build the upstream request: ${errorText(error)}`);
    return;
  }
  // An agent that leaves before the upstream answers takes the attempt with it.
  const abandon = () => {
    upstream.destroy();
    settle({ status: 499, error: "the agent closed the connection" });
  };
  socket.once("close", abandon);

  const ends: UpgradeEnds = { relay, bytes, settle, fail };
  upstream.on("upgrade", (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
    socket.off("close", abandon);
    upgraded(ends, res, upSocket, upHead);
  });
  upstream.on("response", (res: IncomingMessage) => {
    socket.off("close", abandon);
    declined(ends, res);
  });
  upstream.on("error", (error) => {
    socket.off("close", abandon);
    fail(502, `egress could not complete the request upstream: ${errorText(error)}`);
  });
  upstream.end();
}

/** What the two answers to an upgrade share: the relay, its counts and how it ends. */
interface UpgradeEnds {
  relay: UpgradeRelay;
  bytes: { requestBytes: number; responseBytes: number };
  settle: (outcome: { status: number; error?: string }) => void;
  fail: (status: number, message: string) => void;
}

/** The upstream agreed: its 101 passed on scrubbed (unless it holds a token), then frames. */
function upgraded(
  { relay, bytes, settle, fail }: UpgradeEnds,
  res: IncomingMessage,
  upSocket: Duplex,
  upHead: Buffer,
): void {
  const { socket } = relay;
  upSocket.on("error", () => upSocket.destroy());
  if (socket.destroyed) {
    upSocket.destroy();
    settle({ status: 499, error: "the agent closed the connection" });
    return;
  }
  const extensions = res.headers["sec-websocket-extensions"];
  if (extensions !== undefined && extensions !== "") {
    upSocket.destroy();
    fail(
      502,
      "egress refused the upstream's answer: it accepted a WebSocket extension egress did not offer, so its frames could not be checked for route tokens",
    );
    return;
  }
  const scrubbed = headerPairs(res.rawHeaders).flatMap(([name, value]) => [
    scrubText(relay.scrub, name),
    scrubText(relay.scrub, value),
  ]);
  const reason = scrubText(relay.scrub, res.statusMessage || "Switching Protocols");
  const headFinding = relay.guard?.checkHead(reason, scrubbed);
  if (headFinding !== undefined) {
    upSocket.destroy();
    fail(502, withheldMessage(headFinding));
    return;
  }
  const lines = headerPairs(scrubbed)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.write(`HTTP/1.1 101 ${reason}\r\n${lines}\r\n`);
  relayFrames({ ...relay, upSocket, upHead, bytes, settle });
}

/**
 * The upstream declined the upgrade: its answer is passed on, scrubbed, and the connection
 * ends (its end marks the end of the body).
 */
function declined({ relay, bytes, settle, fail }: UpgradeEnds, res: IncomingMessage): void {
  const { socket, redact } = relay;
  const status = res.statusCode ?? 502;
  const scrubbed = scrubResponse(
    res,
    headerPairs(res.rawHeaders)
      .filter(([name]) => !DECLINED_DROP.has(name.toLowerCase()))
      .flat(),
    relay.scrub,
    "GET",
    relay.guard,
  );
  if (!scrubbed.ok) {
    res.destroy();
    fail(502, `egress refused the upstream's answer: ${scrubbed.message}`);
    return;
  }
  const lines = headerPairs(scrubbed.headers)
    .filter(([name]) => name.toLowerCase() !== "content-length")
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  const reason = scrubText(relay.scrub, res.statusMessage ?? "");
  res.on("data", (chunk: Buffer) => {
    bytes.responseBytes += chunk.length;
  });
  // The head waits for the body's first checked bytes, as relay.ts does.
  gateHead(
    scrubbed.body,
    isEventStream(res.headers["content-type"]),
    (body) => {
      socket.write(`HTTP/1.1 ${status} ${reason}\r\n${lines}connection: close\r\n\r\n`);
      body.on("error", (error: Error) => {
        socket.destroy();
        settle({
          status,
          error:
            error instanceof TokenWithheldError
              ? redact(error.message)
              : "the upstream's answer was cut short",
        });
      });
      body.on("end", () => settle({ status }));
      body.pipe(socket);
    },
    (error) => {
      res.destroy();
      fail(502, `egress refused the upstream's answer: ${errorText(error)}`);
    },
  );
}

/** Hop-by-hop headers of a declined upgrade's answer; the body is delimited by the close. */
const DECLINED_DROP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "trailer",
]);

function relayFrames(
  relay: UpgradeRelay & {
    upSocket: Duplex;
    upHead: Buffer;
    bytes: { requestBytes: number; responseBytes: number };
    settle: (outcome: { status: number; error?: string }) => void;
  },
): void {
  const { socket: client, upSocket: upstream, bytes } = relay;
  let error: string | undefined;
  const end = () => relay.settle(error === undefined ? { status: 101 } : { status: 101, error });
  client.on("close", () => {
    upstream.destroy();
    end();
  });
  upstream.on("close", () => {
    // Whatever egress already scrubbed is written before the end.
    client.end();
    end();
  });
  client.on("end", () => upstream.end());

  // The agent's side: bytes as sent (pipelock reads and scans each frame).
  client.on("data", (chunk: Buffer) => {
    bytes.requestBytes += chunk.length;
    if (!upstream.write(chunk)) {
      client.pause();
      upstream.once("drain", () => client.resume());
    }
  });
  if (relay.head.length > 0) {
    bytes.requestBytes += relay.head.length;
    upstream.write(relay.head);
  }

  // The upstream's side: parsed, scrubbed, framed again.
  const scrubber = new FrameScrubber(relay.scrub, relay.guard);
  const onData = (chunk: Buffer) => {
    if (error !== undefined) return;
    bytes.responseBytes += chunk.length;
    let out: Buffer[];
    try {
      out = scrubber.push(chunk);
    } catch (problem) {
      const code = problem instanceof WsProtocolError ? problem.closeCode : 1002;
      error = `egress closed the WebSocket: ${errorText(problem)}`;
      client.end(closeFrame(code, "egress: frame refused"));
      upstream.destroy();
      return;
    }
    for (const frame of out) {
      if (!client.write(frame)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    }
  };
  upstream.on("data", onData);
  if (relay.upHead.length > 0) onData(relay.upHead);
}

/**
 * Server frames in, the same frames out with every route token form replaced. Each data
 * message gets its own stream scrubber, so a token cut across fragments is still found: the
 * bytes that could begin a form are held back into the next fragment. Control frames (which
 * may come between fragments) are scrubbed alone.
 *
 * @throws WsProtocolError for a frame egress cannot parse or read.
 */
export class FrameScrubber {
  readonly #forms: readonly TokenForm[];
  readonly #reader = new WsFrameReader(MAX_FRAME_BYTES);
  /** The scrubber of the data message in progress. */
  #message: TokenScrubber | undefined;
  /** Reads data payloads in order across messages, each with the end of those before it. */
  readonly #read: ((payload: Buffer, place: string) => GuardFinding | undefined) | undefined;

  constructor(forms: readonly TokenForm[], guard?: ResponseGuard) {
    this.#forms = forms;
    this.#read = guard?.messageReader();
    this.#controlGuard = guard;
  }

  readonly #controlGuard: ResponseGuard | undefined;

  /** The payload as it will be sent, once the guard has read it. */
  #checked(payload: Buffer, place: string, control: boolean): Buffer {
    const found = control
      ? this.#controlGuard?.check(payload, place)
      : this.#read?.(payload, place);
    if (found !== undefined) throw new WsProtocolError(withheldMessage(found), 1008);
    return payload;
  }

  push(chunk: Buffer): Buffer[] {
    return this.#reader.push(chunk).map((frame) => this.#frame(frame));
  }

  #frame(frame: WsFrame): Buffer {
    if (frame.masked) throw new WsProtocolError("the upstream sent a masked frame", 1002);
    if (frame.rsv !== 0) {
      throw new WsProtocolError(
        "the upstream sent a frame with an RSV bit set (an extension egress did not negotiate)",
        1002,
      );
    }
    if (frame.opcode >= 8) {
      const payload = new TokenScrubber(this.#forms).finish(frame.payload);
      return encodeFrame(true, frame.opcode, this.#checked(payload, "websocket:control", true));
    }
    if (frame.opcode === 0) {
      if (this.#message === undefined) {
        throw new WsProtocolError("the upstream sent a continuation frame outside a message", 1002);
      }
    } else {
      if (this.#message !== undefined) {
        throw new WsProtocolError("the upstream started a message inside another one", 1002);
      }
      this.#message = new TokenScrubber(this.#forms);
    }
    const message = this.#message;
    const payload = frame.fin ? message.finish(frame.payload) : message.push(frame.payload);
    if (frame.fin) this.#message = undefined;
    const place = frame.opcode === 2 ? "websocket:binary" : "websocket";
    return encodeFrame(frame.fin, frame.opcode, this.#checked(payload, place, false));
  }
}

/** A server's (unmasked) frame. */
export function encodeFrame(fin: boolean, opcode: number, payload: Buffer): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  let head: Buffer;
  if (payload.length < 126) {
    head = Buffer.from([first, payload.length]);
  } else if (payload.length < 0x10000) {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = 127;
    head.writeUInt32BE(Math.floor(payload.length / 2 ** 32), 2);
    head.writeUInt32BE(payload.length >>> 0, 6);
  }
  return Buffer.concat([head, payload]);
}
