import { describe, expect, it } from "vitest";
import { knownHostsLine, renderGitGateUpstreams } from "./upstreams-config.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH2nq0ihOxHhOWxEHkPrGrRL0xOBbtVeZSX+w+y9pGzK";

describe("renderGitGateUpstreams", () => {
  it("lists each upstream with its pinned known_hosts line and nothing else", () => {
    const text = renderGitGateUpstreams([
      {
        name: "app",
        url: "ssh://git@git.example.test:2222/team/app.git",
        knownHostKey: KEY,
        // A plan's upstream carries more; none of it may reach the file.
        ...{ identityFile: "/home/me/.ssh/id_app", extraHosts: {} },
      },
      { name: "docs", url: "ssh://git@docs.example.test/team/docs.git", knownHostKey: KEY },
    ]);
    expect(JSON.parse(text)).toEqual({
      upstreams: [
        {
          name: "app",
          url: "ssh://git@git.example.test:2222/team/app.git",
          knownHosts: `[git.example.test]:2222 ${KEY}`,
        },
        {
          name: "docs",
          url: "ssh://git@docs.example.test/team/docs.git",
          knownHosts: `docs.example.test ${KEY}`,
        },
      ],
    });
    expect(text).not.toContain("id_app");
    expect(text.endsWith("}\n")).toBe(true);
  });
});

describe("knownHostsLine", () => {
  it("names the host alone on port 22, bracketed with the port otherwise", () => {
    expect(knownHostsLine("ssh://git@h.test/r.git", KEY)).toBe(`h.test ${KEY}`);
    expect(knownHostsLine("ssh://git@h.test:22/r.git", KEY)).toBe(`h.test ${KEY}`);
    expect(knownHostsLine("ssh://h.test:2222/r.git", KEY)).toBe(`[h.test]:2222 ${KEY}`);
    expect(knownHostsLine("ssh://git@[fd00::5]:2222/r.git", KEY)).toBe(`[fd00::5]:2222 ${KEY}`);
    expect(knownHostsLine("ssh://git@[fd00::5]/r.git", KEY)).toBe(`fd00::5 ${KEY}`);
  });

  it("drops a trailing comment from the key", () => {
    expect(knownHostsLine("ssh://h.test/r.git", `${KEY} root@upstream`)).toBe(`h.test ${KEY}`);
  });

  it("refuses what ssh could not pin", () => {
    expect(() => knownHostsLine("https://h.test/r.git", KEY)).toThrow(
      'git upstream URL "https://h.test/r.git" must look like ssh://git@host/path',
    );
    expect(() => knownHostsLine("ssh://h.test/r.git", "h.test ssh-ed25519 AAAA")).toThrow(
      'known host key for ssh://h.test/r.git must be "<type> <base64>" like "ssh-ed25519 AAAA…", got "h.test ssh-ed25519 AAAA"',
    );
  });
});
