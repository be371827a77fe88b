// Parses the pinned host key of a git upstream: one OpenSSH public key line,
// "<type> <base64 blob> [comment]", whose blob must decode and name the same type.
import { type ParseResult, parsed, refused } from "./parse-result.js";

export const HOST_KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;

export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

export interface HostKey {
  type: HostKeyType;
  /** Base64 of the key blob. */
  key: string;
  /** "type key", without the comment: the form written to known_hosts. */
  line: string;
}

const HOW = "copy the key line from `ssh-keyscan -t ed25519 HOST`, without the host name";

export function parseHostKey(text: string): ParseResult<HostKey> {
  const fields = text.trim().split(/\s+/);
  const typeIndex = fields.findIndex((f) => isHostKeyType(f));
  if (typeIndex === -1) {
    return refused(
      `is not an OpenSSH public key: it must start with a key type (${HOST_KEY_TYPES.slice(0, 4).join(", ")}, …); ${HOW}`,
    );
  }
  if (typeIndex > 0) {
    return refused(`starts with "${fields[0]}" before the key type; ${HOW}`);
  }
  const type = fields[0] as HostKeyType;
  const key = fields[1] ?? "";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) {
    return refused(`the ${type} key is not valid base64; ${HOW}`);
  }
  const blob = Buffer.from(key, "base64");
  const embedded = readSshString(blob, 0);
  if (embedded === undefined || embedded.value !== type) {
    return refused(`the key data does not hold a ${type} key; ${HOW}`);
  }
  if (type === "ssh-ed25519") {
    const point = readSshString(blob, embedded.next);
    if (point?.value.length !== 32 || point.next !== blob.length) {
      return refused(`the ${type} key data is damaged (an ed25519 key is 32 bytes); ${HOW}`);
    }
  }
  return parsed({ type, key, line: `${type} ${key}` });
}

function isHostKeyType(field: string): field is HostKeyType {
  return (HOST_KEY_TYPES as readonly string[]).includes(field);
}

/** An SSH wire-format string: uint32 length, then that many bytes. */
function readSshString(blob: Buffer, offset: number): { value: string; next: number } | undefined {
  if (blob.length < offset + 4) return undefined;
  const length = blob.readUInt32BE(offset);
  const end = offset + 4 + length;
  if (end > blob.length) return undefined;
  return { value: blob.subarray(offset + 4, end).toString("latin1"), next: end };
}
