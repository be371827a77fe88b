// The values a request carries, place by place, in the order a receiver reads them: path
// segments, query parameter values, header values, cookie values, then the body's form field
// values or JSON string and number members (document order), or the body whole. The scanner
// joins them into one text so that a secret cut between two places (two form fields, two JSON
// members, a header and the body ...) is whole again. Values are latin1 strings of their bytes,
// percent-decoded where the place is percent-encoded. Bounded: past `maxValues` values the
// answer is "too many", and the scanner refuses the request rather than join part of it.
import { decodePercent, isFormEncoded, looksLikeJson } from "./body-decoding.js";

export interface PlaceSource {
  /** The raw path, still percent-encoded. */
  path?: string | undefined;
  /** The raw query without "?". */
  query?: string | undefined;
  headers?: readonly (readonly [name: string, value: string])[] | undefined;
  /** The body after content-decoding. */
  body?: { bytes: Uint8Array; contentType?: string | undefined } | undefined;
}

/** A latin1 string of bytes, or the bytes themselves. */
export type PlaceValue = string | Uint8Array;

export type PlaceValues =
  | { ok: true; values: PlaceValue[]; bytes: number }
  | { ok: false; count: number };

/** Values per request before the join refuses: ample for forms and API payloads. */
export const MAX_PLACE_VALUES = 65_536;

export function placeValues(source: PlaceSource, maxValues = MAX_PLACE_VALUES): PlaceValues {
  const values: PlaceValue[] = [];
  let bytes = 0;
  let over = false;
  const add = (value: PlaceValue) => {
    if (value.length === 0 || over) return;
    if (values.length >= maxValues) {
      over = true;
      return;
    }
    values.push(value);
    bytes += value.length;
  };
  if (source.path !== undefined) {
    for (const segment of source.path.split("/")) add(decodePercent(segment));
  }
  if (source.query !== undefined) {
    for (const pair of source.query.split("&")) add(decodePercent(pairValue(pair), true));
  }
  for (const [name, value] of source.headers ?? []) {
    add(value);
    if (name.toLowerCase() === "cookie") {
      for (const pair of value.split(";")) add(decodePercent(pairValue(pair.trim())));
    }
  }
  const body = source.body;
  if (body !== undefined && body.bytes.length > 0) {
    if (isFormEncoded(body.contentType)) {
      for (const pair of latin1(body.bytes).split("&")) add(decodePercent(pairValue(pair), true));
    } else if (!(looksLikeJson(body.contentType, body.bytes) && jsonMembers(body.bytes, add))) {
      add(body.bytes);
    }
  }
  return over ? { ok: false, count: values.length + 1 } : { ok: true, values, bytes };
}

function pairValue(pair: string): string {
  const eq = pair.indexOf("=");
  return eq === -1 ? pair : pair.slice(eq + 1);
}

/**
 * Feeds the JSON document's string and number members to `add` in document order (keys are
 * left out, so two members' values are adjacent in the join). False when the body is not JSON
 * after all; the caller then takes the body whole.
 */
function jsonMembers(bytes: Uint8Array, add: (value: string) => void): boolean {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
  } catch {
    return false;
  }
  const stack: unknown[] = [document];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === "string") add(Buffer.from(node, "utf8").toString("latin1"));
    else if (typeof node === "number") add(String(node));
    else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
    } else if (node !== null && typeof node === "object") {
      const members = Object.values(node);
      for (let i = members.length - 1; i >= 0; i--) stack.push(members[i]);
    }
  }
  return true;
}

/** `value`'s characters from `start` to `end` as a latin1 string. */
export function valueText(value: PlaceValue, start = 0, end = value.length): string {
  return typeof value === "string" ? value.slice(start, end) : latin1(value.subarray(start, end));
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
