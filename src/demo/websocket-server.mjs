// The server side of a WebSocket, as the two stand-ins speak it (the demo's stub upstream and
// the model stand-in): the handshake, one frame out, and whole messages in. Dependency-free;
// the build bundles it into each stand-in, which runs as one file in a container.
import { createHash } from "node:crypto";

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Answers the upgrade request `req` on `socket` with 101 Switching Protocols. */
export function acceptWebSocket(req, socket) {
  const accept = createHash("sha1")
    .update(`${req.headers["sec-websocket-key"]}${WS_GUID}`)
    .digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
}

/** One unmasked server frame. */
export function wsFrame(opcode, payload) {
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([0x80 | opcode, n]);
  else if (n < 0x10000) head = Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/**
 * Reads the client's frames from `socket` (after `head`, what came with the upgrade): pings
 * answered, pongs dropped, a close answered and ended; each whole message, its fragments
 * joined, to `onMessage(opcode, payload)` with the opcode of its first frame.
 */
export function readWsMessages(socket, head, onMessage) {
  let buffer = head ?? Buffer.alloc(0);
  let parts = [];
  let opcode = 1;
  const onData = (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const fin = (buffer[0] & 0x80) !== 0;
      const op = buffer[0] & 0x0f;
      let length = buffer[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      const mask = (buffer[1] & 0x80) !== 0 ? buffer.subarray(at, at + 4) : null;
      if (mask !== null) at += 4;
      if (buffer.length < at + length) return;
      const payload = Buffer.from(buffer.subarray(at, at + length));
      if (mask !== null) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      buffer = buffer.subarray(at + length);
      if (op === 8) {
        socket.end(wsFrame(8, payload.subarray(0, 2)));
        return;
      }
      if (op === 9) {
        socket.write(wsFrame(10, payload));
        continue;
      }
      if (op === 10) continue;
      if (op !== 0) opcode = op;
      parts.push(payload);
      if (!fin) continue;
      const message = Buffer.concat(parts);
      parts = [];
      onMessage(opcode, message);
    }
  };
  socket.on("data", onData);
  if (buffer.length > 0) {
    const first = buffer;
    buffer = Buffer.alloc(0);
    onData(first);
  }
}
