// Opening a CONNECT tunnel pipelock answers itself, whether it forwards (connect-handler) or
// only tells a refusal (refused-tunnel): the 200, a limit on how long the client may stay
// silent, and a look at its first byte to tell TLS from plain HTTP spoken into the tunnel.
import type { Socket } from "node:net";

const TLS_HANDSHAKE = 0x16;
/** A tunnel nobody speaks into is not kept: once it does, the inner server's timeouts apply. */
const FIRST_BYTE_TIMEOUT_MS = 60_000;

/** Answers 200 and calls `first` with whether the client's first byte starts a TLS handshake. */
export function answerTunnel(socket: Socket, head: Buffer, first: (tls: boolean) => void): void {
  if (head.length > 0) socket.unshift(head);
  socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
  socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
  socket.once("data", (chunk: Buffer) => {
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(chunk);
    first(chunk[0] === TLS_HANDSHAKE);
  });
}
