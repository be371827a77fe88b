import { describe, expect, it } from "vitest";
import { parseRefusals } from "./info-command.js";

describe("parseRefusals", () => {
  it("keeps pipelock's refusals and passes over allowed requests and other log text", () => {
    const log = [
      "pipelock: listening on 0.0.0.0:8888",
      '{"ts":"2026-12-04T10:00:00.000Z","client":"a","method":"CONNECT","host":"ok.test","port":443,"path":null,"decision":"allowed","rule":null,"location":null,"status":200}',
      '{"ts":"2026-12-04T10:00:01.000Z","client":"a","method":"CONNECT","host":"evil.test","port":443,"path":null,"decision":"denied","rule":"not-allowlisted","location":null,"status":403}',
      '{"ts":"2026-12-04T10:00:02.000Z","client":"a","method":"POST","host":"ok.test","port":443,"path":"/up","decision":"dlp_block","rule":"known-secret","location":"body","status":403}',
      '{"not json',
    ].join("\n");
    expect(parseRefusals(log)).toEqual([
      {
        ts: "2026-12-04T10:00:01.000Z",
        decision: "denied",
        method: "CONNECT",
        host: "evil.test",
        port: 443,
        path: null,
        rule: "not-allowlisted",
        location: null,
        status: 403,
      },
      {
        ts: "2026-12-04T10:00:02.000Z",
        decision: "dlp_block",
        method: "POST",
        host: "ok.test",
        port: 443,
        path: "/up",
        rule: "known-secret",
        location: "body",
        status: 403,
      },
    ]);
  });
});
