// An incremental reader of WebSocket frames (RFC 6455 5.2), for the client side of a relayed
// connection: it hands back each frame's bytes as received, to forward unchanged, and its
// payload unmasked, to scan. Buffers at most one frame; refuses frames over the limit.

export interface WsFrame {
  fin: boolean;
  /** RSV1-3 as a 3-bit number; non-zero means an extension (compression) is in use. */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
  /** The frame exactly as received. */
  raw: Buffer;
}

export class WsProtocolError extends Error {
  /** The close code to answer with: 1002 protocol error, 1009 too big. */
  readonly closeCode: number;
  constructor(message: string, closeCode: number) {
    super(message);
    this.name = "WsProtocolError";
    this.closeCode = closeCode;
  }
}

interface Header {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  headerLength: number;
  payloadLength: number;
}

export class WsFrameReader {
  readonly #maxPayload: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #header: Header | undefined;

  constructor(maxPayload: number) {
    this.#maxPayload = maxPayload;
  }

  /** @throws WsProtocolError */
  push(chunk: Buffer): WsFrame[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
    }
    const frames: WsFrame[] = [];
    for (;;) {
      if (this.#header === undefined) {
        this.#header = parseHeader(this.#peek(Math.min(this.#size, 14)));
        if (this.#header === undefined) break;
        if (this.#header.payloadLength > this.#maxPayload) {
          throw new WsProtocolError(
            `frame of ${this.#header.payloadLength} bytes is too big`,
            1009,
          );
        }
      }
      const header = this.#header;
      const total = header.headerLength + header.payloadLength;
      if (this.#size < total) break;
      const raw = this.#take(total);
      const payload = Buffer.from(raw.subarray(header.headerLength));
      if (header.masked) {
        const key = raw.subarray(header.headerLength - 4, header.headerLength);
        for (let i = 0; i < payload.length; i++)
          payload[i] = (payload[i] as number) ^ (key[i & 3] as number);
      }
      frames.push({
        fin: header.fin,
        rsv: header.rsv,
        opcode: header.opcode,
        masked: header.masked,
        payload,
        raw,
      });
      this.#header = undefined;
    }
    return frames;
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.#chunks, this.#size).subarray(0, n);
  }

  #take(n: number): Buffer {
    const all =
      this.#chunks.length === 1
        ? (this.#chunks[0] as Buffer)
        : Buffer.concat(this.#chunks, this.#size);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#size = rest.length;
    return taken;
  }
}

function parseHeader(bytes: Buffer): Header | undefined {
  if (bytes.length < 2) return undefined;
  const b0 = bytes[0] as number;
  const b1 = bytes[1] as number;
  const masked = (b1 & 0x80) !== 0;
  const opcode = b0 & 0x0f;
  let length = b1 & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = bytes.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    const high = bytes.readUInt32BE(2);
    if (high > 0x1fffff) throw new WsProtocolError("frame length out of range", 1009);
    length = high * 2 ** 32 + bytes.readUInt32BE(6);
    offset = 10;
  }
  if (opcode >= 8 && (length > 125 || (b0 & 0x80) === 0)) {
    throw new WsProtocolError("malformed control frame", 1002);
  }
  if ((opcode > 2 && opcode < 8) || opcode > 10) {
    throw new WsProtocolError(`unknown opcode ${opcode}`, 1002);
  }
  const headerLength = offset + (masked ? 4 : 0);
  // The mask key may still be on its way.
  if (bytes.length < headerLength) return undefined;
  return {
    fin: (b0 & 0x80) !== 0,
    rsv: (b0 >> 4) & 0x07,
    opcode,
    masked,
    headerLength,
    payloadLength: length,
  };
}

/** A close frame as a server sends it (unmasked), reason cut to fit a control frame. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, "utf8").subarray(0, 123);
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
