import { describe, expect, it } from "vitest";
import { parseHostKey } from "./ssh-host-key.js";

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** An SSH public key blob: the type string, then `parts`, each length-prefixed. */
function blob(type: string, ...parts: Buffer[]): string {
  return Buffer.concat([sshString(Buffer.from(type)), ...parts.map(sshString)]).toString("base64");
}

const ED25519 = blob("ssh-ed25519", Buffer.alloc(32, 7));
const HOW = "copy the key line from `ssh-keyscan -t ed25519 HOST`, without the host name";

describe("parseHostKey", () => {
  it("accepts a key line and drops the comment", () => {
    expect(parseHostKey(`ssh-ed25519 ${ED25519} git@example.test`)).toEqual({
      ok: true,
      value: { type: "ssh-ed25519", key: ED25519, line: `ssh-ed25519 ${ED25519}` },
    });
  });

  it("accepts other key types whose blob names the same type", () => {
    const key = blob("ecdsa-sha2-nistp256", Buffer.from("nistp256"), Buffer.alloc(65, 4));
    expect(parseHostKey(`ecdsa-sha2-nistp256 ${key}`).ok).toBe(true);
  });

  it.each([
    [
      "AAAA",
      "is not an OpenSSH public key: it must start with a key type (ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, …); " +
        HOW,
    ],
    [
      `git.example.test ssh-ed25519 ${ED25519}`,
      `starts with "git.example.test" before the key type; ${HOW}`,
    ],
    ["ssh-ed25519", `the ssh-ed25519 key is not valid base64; ${HOW}`],
    ["ssh-ed25519 AAAA===", `the ssh-ed25519 key is not valid base64; ${HOW}`],
    [`ssh-rsa ${ED25519}`, `the key data does not hold a ssh-rsa key; ${HOW}`],
    [
      `ssh-ed25519 ${blob("ssh-ed25519", Buffer.alloc(31))}`,
      `the ssh-ed25519 key data is damaged (an ed25519 key is 32 bytes); ${HOW}`,
    ],
  ])("rejects %j", (text, message) => {
    expect(parseHostKey(text)).toEqual({ ok: false, message });
  });
});
