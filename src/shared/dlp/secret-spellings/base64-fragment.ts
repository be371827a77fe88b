// The part of a base64 encoding that depends only on a known run of bytes, wherever it sits.

/**
 * The base64 characters that depend only on the bytes when they start `offset` bytes into a
 * 3-byte group: characters shared with unknown neighbouring bytes are cut off at both ends.
 */
export function base64Fragment(bytes: Uint8Array, offset: number): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
  const encoded = padded.toString("base64");
  const start = [0, 2, 3][offset] ?? 0;
  const end = Math.floor((8 * padded.length) / 6);
  return encoded.slice(start, end);
}
