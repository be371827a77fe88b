// Git's formats as the gate reads them: the ref updates a pre-receive hook gets, commit
// and tag objects split into the fields people write (message, names, emails), tree
// entries, and `git diff-tree -z --raw` output. Pure; every parser throws on input it does
// not understand rather than returning less than the object holds.

export interface RefUpdate {
  oldId: string;
  newId: string;
  /** The ref's bytes as a latin1 string (git does not promise UTF-8). */
  ref: string;
}

/** One field of a commit or tag someone wrote, by the name the gate reports it under. */
export interface ObjectField {
  place: string;
  bytes: Buffer;
}

export interface DiffEntry {
  commit: string;
  mode: string;
  blob: string;
  status: string;
  path: Buffer;
}

export interface TreeEntry {
  mode: string;
  name: Buffer;
}

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function isZeroId(id: string): boolean {
  return /^0+$/.test(id);
}

/** `<old> <new> <ref>` lines, as git hands them to pre-receive. */
export function parseRefUpdates(text: string): RefUpdate[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const m = /^([0-9a-f]+) ([0-9a-f]+) (refs\/\S+)$/.exec(line);
      if (m === null || !OBJECT_ID.test(m[1] as string) || !OBJECT_ID.test(m[2] as string)) {
        throw new Error("a ref update line is not <old> <new> <ref>");
      }
      return { oldId: m[1] as string, newId: m[2] as string, ref: m[3] as string };
    });
}

interface RawObject {
  headers: { name: string; value: Buffer }[];
  message: Buffer;
}

/** Header lines up to the first empty line (continuations start with a space), then the message. */
export function splitObject(raw: Buffer): RawObject {
  const headers: { name: string; value: Buffer }[] = [];
  let at = 0;
  while (at < raw.length) {
    let end = raw.indexOf(0x0a, at);
    if (end < 0) end = raw.length;
    if (end === at) return { headers, message: raw.subarray(at + 1) };
    const line = raw.subarray(at, end);
    const previous = headers[headers.length - 1];
    if (line[0] === 0x20 && previous !== undefined) {
      previous.value = Buffer.concat([previous.value, Buffer.from("\n"), line.subarray(1)]);
    } else {
      const space = line.indexOf(0x20);
      const name = line.toString("latin1", 0, space < 0 ? line.length : space);
      headers.push({ name, value: space < 0 ? Buffer.alloc(0) : line.subarray(space + 1) });
    }
    at = end + 1;
  }
  return { headers, message: Buffer.alloc(0) };
}

/** `Name <email> 1700000000 +0000` as name and email; the whole line when it is not that shape. */
function personFields(who: string, value: Buffer): ObjectField[] {
  const open = value.indexOf("<");
  const close = open < 0 ? -1 : value.indexOf(">", open);
  if (close < 0) return [{ place: who, bytes: value }];
  return [
    { place: `${who} name`, bytes: value.subarray(0, open) },
    { place: `${who} email`, bytes: value.subarray(open + 1, close) },
    { place: `${who} date`, bytes: value.subarray(close + 1) },
  ];
}

/** Headers git itself writes; any other name is the pusher's own text, so never shown. */
const KNOWN_HEADERS = new Set(["encoding", "gpgsig", "gpgsig-sha256", "mergetag"]);

/** Another header, scanned with its name (which may be anything in a crafted object). */
function otherHeader(prefix: string, h: { name: string; value: Buffer }): ObjectField {
  const shown = KNOWN_HEADERS.has(h.name) ? h.name : "(unknown)";
  return {
    place: `${prefix} ${shown}`,
    bytes: Buffer.concat([Buffer.from(`${h.name} `, "latin1"), h.value]),
  };
}

/** Every field of a commit a person chose: names, emails, message, any other header. */
export function commitFields(raw: Buffer): ObjectField[] {
  const { headers, message } = splitObject(raw);
  const fields: ObjectField[] = [];
  for (const h of headers) {
    if (h.name === "tree" || h.name === "parent") continue;
    if (h.name === "author" || h.name === "committer")
      fields.push(...personFields(h.name, h.value));
    else fields.push(otherHeader("commit header", h));
  }
  fields.push({ place: "commit message", bytes: message });
  return fields;
}

export interface ParsedTag {
  /** The name the tag object gives itself (its "tag" header). */
  name: Buffer;
  /** The object it points at. */
  target: string;
  fields: ObjectField[];
}

/** A tag's fields; places are relative ("message", "tagger name"), the caller names the tag. */
export function tagFields(raw: Buffer): ParsedTag {
  const { headers, message } = splitObject(raw);
  const target = headers.find((h) => h.name === "object")?.value.toString("latin1") ?? "";
  const name = headers.find((h) => h.name === "tag")?.value ?? Buffer.alloc(0);
  if (!OBJECT_ID.test(target)) throw new Error("a tag object names no target object");
  const fields: ObjectField[] = [];
  for (const h of headers) {
    if (h.name === "object" || h.name === "type") continue;
    if (h.name === "tag") fields.push({ place: "name", bytes: h.value });
    else if (h.name === "tagger") fields.push(...personFields("tagger", h.value));
    else fields.push(otherHeader("header", h));
  }
  fields.push({ place: "message", bytes: message });
  return { name, target, fields };
}

/** A tree object's entries: `<mode> <name>\0<binary id>` repeated. */
export function parseTree(raw: Buffer, idBytes: number): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < raw.length) {
    const space = raw.indexOf(0x20, at);
    const nul = space < 0 ? -1 : raw.indexOf(0, space);
    if (nul < 0 || nul + 1 + idBytes > raw.length) throw new Error("a tree object is truncated");
    entries.push({ mode: raw.toString("latin1", at, space), name: raw.subarray(space + 1, nul) });
    at = nul + 1 + idBytes;
  }
  return entries;
}

/**
 * `git diff-tree --stdin -r -m --root -z --raw --no-renames --full-index` output: a commit
 * id, then `:<mode> <mode> <id> <id> <status>` and a path per change.
 */
export function parseDiffTree(out: Buffer): DiffEntry[] {
  const tokens: Buffer[] = [];
  let at = 0;
  while (at < out.length) {
    const nul = out.indexOf(0, at);
    if (nul < 0) throw new Error("diff-tree output is truncated");
    tokens.push(out.subarray(at, nul));
    at = nul + 1;
  }
  const entries: DiffEntry[] = [];
  let commit = "";
  for (let i = 0; i < tokens.length; i++) {
    const token = (tokens[i] as Buffer).toString("latin1");
    if (!token.startsWith(":")) {
      if (!OBJECT_ID.test(token)) throw new Error("diff-tree output has an unexpected line");
      commit = token;
      continue;
    }
    const m = /^:(\d+) (\d+) ([0-9a-f]+) ([0-9a-f]+) ([A-Z])$/.exec(token);
    const path = tokens[++i];
    if (m === null || path === undefined || commit === "") {
      throw new Error("diff-tree output has an unexpected change line");
    }
    entries.push({
      commit,
      mode: m[2] as string,
      blob: m[4] as string,
      status: m[5] as string,
      path,
    });
  }
  return entries;
}

/** Text safe to show on one terminal line: printable ASCII, at most `max` characters. */
export function printable(text: string, max = 120): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
