// Which headers cross a proxy (pipelock, egress). Hop-by-hop headers (RFC 9110 7.6.1) and
// those the Connection header names stay on their own leg; everything else is relayed as
// sent, order and case kept.

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Flat raw headers minus hop-by-hop ones, those listed in Connection, and `alsoDrop`. */
export function endToEndHeaders(
  raw: readonly string[],
  alsoDrop: readonly string[] = [],
): string[] {
  const drop = new Set([...HOP_BY_HOP, ...alsoDrop]);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === "connection") {
      for (const token of (raw[i + 1] as string).split(",")) drop.add(token.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!drop.has(name.toLowerCase())) out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** The raw header list as [name, value] pairs. */
export function headerPairs(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
  return pairs;
}

/** How many times `name` (any case) appears in a raw header list. */
export function headerCount(raw: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) count++;
  }
  return count;
}
