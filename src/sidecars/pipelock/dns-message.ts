// Reads the names out of a DNS query in wire format (RFC 1035 4.1), as a DNS-over-HTTPS
// client sends it: every question, and the owner name of every additional record. Bounded and
// strict: anything a plain query would not hold (answers, compression pointers that do not
// point back, labels of other types, trailing bytes) is malformed, and a malformed query is
// refused by its caller, never passed unread. Pure.

export type DnsQueryParse = { ok: true; names: string[][] } | { ok: false; detail: string };

const HEADER_BYTES = 12;
const MAX_QUESTIONS = 4;
const MAX_ADDITIONAL = 4;
/** RFC 1035 2.3.4: a name is at most 255 bytes on the wire. */
const MAX_NAME_BYTES = 255;
/** Enough for any name a client compresses; a loop is cut long before this. */
const MAX_POINTERS = 16;

class Malformed extends Error {}

/** The labels (raw bytes as latin1) of each name in the query, questions first. */
export function parseDnsQuery(bytes: Uint8Array): DnsQueryParse {
  try {
    return { ok: true, names: readQuery(bytes) };
  } catch (error) {
    if (error instanceof Malformed) return { ok: false, detail: error.message };
    throw error;
  }
}

function readQuery(bytes: Uint8Array): string[][] {
  if (bytes.length < HEADER_BYTES) throw new Malformed("shorter than a DNS header");
  if (bytes.length > 65535) throw new Malformed("longer than a DNS message can be");
  const flags = u8(bytes, 2);
  if ((flags & 0x80) !== 0) throw new Malformed("a response, not a query");
  if (((flags >> 3) & 0x0f) !== 0) throw new Malformed("not a standard query (opcode)");
  const questions = u16(bytes, 4);
  const answers = u16(bytes, 6);
  const authority = u16(bytes, 8);
  const additional = u16(bytes, 10);
  if (questions < 1 || questions > MAX_QUESTIONS) {
    throw new Malformed(`${questions} questions (1 to ${MAX_QUESTIONS} are read)`);
  }
  if (answers !== 0 || authority !== 0) throw new Malformed("a query with answer records");
  if (additional > MAX_ADDITIONAL) throw new Malformed(`${additional} additional records`);
  const names: string[][] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < questions; i++) {
    const name = readName(bytes, at);
    names.push(name.labels);
    at = name.next + 4; // QTYPE, QCLASS
    if (at > bytes.length) throw new Malformed("a question runs past the end");
  }
  for (let i = 0; i < additional; i++) {
    const name = readName(bytes, at);
    names.push(name.labels);
    at = name.next + 8; // TYPE, CLASS, TTL
    if (at + 2 > bytes.length) throw new Malformed("a record runs past the end");
    at += 2 + u16(bytes, at);
    if (at > bytes.length) throw new Malformed("a record's data runs past the end");
  }
  if (at !== bytes.length) throw new Malformed("bytes after the last record");
  return names;
}

function readName(bytes: Uint8Array, start: number): { labels: string[]; next: number } {
  const labels: string[] = [];
  let at = start;
  let next: number | undefined;
  let wireBytes = 1;
  let pointers = 0;
  for (;;) {
    const length = u8(bytes, at);
    if (length === 0) return { labels, next: next ?? at + 1 };
    const type = length & 0xc0;
    if (type === 0xc0) {
      const target = ((length & 0x3f) << 8) | u8(bytes, at + 1);
      // Backwards only, past the header, and few: a loop ends at the count.
      if (target >= at || target < HEADER_BYTES || ++pointers > MAX_POINTERS) {
        throw new Malformed("a compression pointer that does not point back");
      }
      next ??= at + 2;
      at = target;
      continue;
    }
    if (type !== 0) throw new Malformed("a label of an unknown type");
    if (at + 1 + length > bytes.length) throw new Malformed("a label runs past the end");
    wireBytes += 1 + length;
    if (wireBytes > MAX_NAME_BYTES) throw new Malformed("a name longer than 255 bytes");
    labels.push(Buffer.from(bytes.subarray(at + 1, at + 1 + length)).toString("latin1"));
    at += 1 + length;
  }
}

function u8(bytes: Uint8Array, at: number): number {
  const value = bytes[at];
  if (value === undefined) throw new Malformed("it ends inside a field");
  return value;
}

function u16(bytes: Uint8Array, at: number): number {
  return (u8(bytes, at) << 8) | u8(bytes, at + 1);
}

/** RFC 8484 4.1: the `dns` parameter is base64url without padding; undefined if it is not. */
export function decodeDnsParameter(value: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) return undefined;
  return Buffer.from(value, "base64url");
}
