// Refusals written straight to a socket, for CONNECT and Upgrade requests, where node's
// response object is not available.
import type { Duplex } from "node:stream";
import { REFUSAL_HEADER, refusalHeaderValue } from "../../shared/refusal-text.js";
import type { Refusal } from "./messages.js";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  413: "Content Too Large",
  429: "Too Many Requests",
  502: "Bad Gateway",
};

/** `headers`: extra lines such as Retry-After, names and values of our own choosing. */
export function refuseOnSocket(
  socket: Duplex,
  refusal: Refusal,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${refusal.status} ${REASONS[refusal.status] ?? "Error"}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(refusal.text)}\r\n` +
      "X-Pipelock: refused\r\n" +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("") +
      `${REFUSAL_HEADER}: ${refusalHeaderValue(refusal.text)}\r\n` +
      "Connection: close\r\n\r\n" +
      refusal.text,
  );
}
