// WebSockets from inside a plane's agent: the upgrade and frames written for the raw client,
// and the server's frames read back from what it returned.
import { type ExchangeResult, httpRequest, type Plane } from "./plane-fixture.js";

/** A raw step that sends frames on an open WebSocket (see ExchangeSpec). */
export type WebSocketStep = { send: Array<{ text: string; delayMs?: number }>; quietMs?: number };

/**
 * A WebSocket on an intercepted tunnel to `host`: the upgrade for `path`, with `headers` added
 * to the usual ones, then each of `messages` raw. responses[0] is the upgrade's answer.
 */
export function webSocketExchange(
  plane: Pick<Plane, "exchange">,
  options: {
    host: string;
    path: string;
    headers?: Record<string, string>;
    messages: WebSocketStep[];
  },
): Promise<ExchangeResult> {
  const upgrade = httpRequest("GET", options.path, {
    Host: options.host,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...options.headers,
  });
  return plane.exchange({
    connect: `${options.host}:443`,
    tls: {},
    steps: [{ send: [{ text: upgrade }] }, ...options.messages.map((m) => ({ ...m, raw: true }))],
  });
}

/** A client WebSocket frame (masked, as a client must send it), as latin1 text. */
export function wsClientFrame(opcode: number, payload: string, fin = true): string {
  const data = Buffer.from(payload, "utf8");
  const mask = Buffer.from([0x5a, 0x17, 0xc3, 0x08]);
  const length =
    data.length < 126
      ? Buffer.from([0x80 | data.length])
      : Buffer.from([0x80 | 126, data.length >> 8, data.length & 0xff]);
  const masked = Buffer.from(data.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode]), length, mask, masked]).toString(
    "latin1",
  );
}

/** Server frames (unmasked) read back from latin1 text: opcode and payload of each. */
export function wsServerFrames(text: string): Array<{ opcode: number; payload: Buffer }> {
  const bytes = Buffer.from(text, "latin1");
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    let length = (bytes[at + 1] as number) & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      start = at + 4;
    }
    frames.push({
      opcode: (bytes[at] as number) & 0x0f,
      payload: bytes.subarray(start, start + length),
    });
    at = start + length;
  }
  return frames;
}
