import { describe, expect, it } from "vitest";
import { parseSshUrl } from "./ssh-url.js";

describe("parseSshUrl", () => {
  it("takes an ssh:// URL apart", () => {
    expect(parseSshUrl("ssh://git@git.example.test:2222/team/app.git")).toEqual({
      ok: true,
      value: {
        url: "ssh://git@git.example.test:2222/team/app.git",
        user: "git",
        host: "git.example.test",
        port: 2222,
        path: "/team/app.git",
      },
    });
  });

  it.each([
    [
      "git@git.example.test:team/app.git",
      '"git@git.example.test:team/app.git" is not an ssh:// URL; the gate pushes over SSH only: write ssh://git@git.example.test/team/app.git',
    ],
    [
      "git://git.example.test/app.git",
      '"git://git.example.test/app.git" is not an ssh:// URL; the gate pushes over SSH only: write ssh://git@git.example.test/team/repo.git',
    ],
    [
      "ssh://git.example.test/",
      '"ssh://git.example.test/" names no repository path; e.g. ssh://git@git.example.test/team/repo.git',
    ],
  ])("rejects %s", (text, message) => {
    expect(parseSshUrl(text)).toEqual({ ok: false, message });
  });

  it("never echoes a password", () => {
    for (const text of [
      "https://me:hunter2@git.example.test/app.git",
      "ssh://me:hunter2@git.example.test/app.git",
    ]) {
      expect(parseSshUrl(text)).toEqual({
        ok: false,
        message:
          "has a password in it; never write secrets in a manifest: the gate authenticates with identity_file",
      });
    }
  });
});
