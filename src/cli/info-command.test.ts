import { describe, expect, it } from "vitest";
import {
  ALL_HOSTILE,
  HOSTILE_TEXT,
  rawControlsIn,
} from "../../test/support/fixtures/hostile-text.js";
import type { FoundBottle } from "../backend/backend.js";
import { formatInfo, type Info, parseLimits, parseRefusals } from "./info-command.js";

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

describe("parseLimits", () => {
  it("takes each bucket's latest totals and counts name-budget refusals per wildcard", () => {
    const line = (extra: object) =>
      JSON.stringify({ method: "GET", host: "h", decision: "denied", status: 429, ...extra });
    const log = [
      line({ rule: "rate-limit", rate: { key: "api.test", bursts: 1, refusals: 3 } }),
      line({ rule: "rate-limit", rate: { key: "*.cdn.test", bursts: 1, refusals: 1 } }),
      line({ rule: "rate-limit", rate: { key: "api.test", bursts: 2, refusals: 7 } }),
      line({ rule: "wildcard-name-budget", names: { pattern: "*.w.test", used: 32, budget: 32 } }),
      line({ rule: "wildcard-name-budget", names: { pattern: "*.w.test", used: 32, budget: 32 } }),
      "pipelock: policy reloaded",
    ].join("\n");
    expect(parseLimits(log)).toEqual({
      rate: [
        { host: "api.test", bursts: 2, refusals: 7 },
        { host: "*.cdn.test", bursts: 1, refusals: 1 },
      ],
      names: [{ wildcard: "*.w.test", used: 32, budget: 32, refusals: 2 }],
    });
  });
});

describe("info output holds no raw control character", () => {
  const bottle: FoundBottle = {
    slug: `dev${HOSTILE_TEXT["CSI clear screen"]}`,
    project: "claude-bottle-dev",
    containers: [],
    networks: [],
    stateDir: `/h/${ALL_HOSTILE}`,
    metadata: null,
    attached: true,
  };
  // A refusal as pipelock logs it, from an agent that asked for a hostile host and path.
  const log = JSON.stringify({
    ts: "2030-01-01T11:59:00.000Z",
    method: `GET${HOSTILE_TEXT["RLO display spoof"]}`,
    host: `evil${HOSTILE_TEXT["OSC window title with BEL"]}.test`,
    port: 443,
    path: `/${ALL_HOSTILE}`,
    decision: "denied",
    rule: ALL_HOSTILE,
    location: ALL_HOSTILE,
    status: 403,
  });
  const info: Info = {
    slug: bottle.slug,
    project: bottle.project,
    agent: ALL_HOSTILE,
    bottle: ALL_HOSTILE,
    state: "running",
    services: [ALL_HOSTILE],
    networks: [],
    stateDir: bottle.stateDir,
    attached: true,
    createdAt: "2030-01-01T11:00:00.000Z",
    containers: [{ service: ALL_HOSTILE, state: "running", status: ALL_HOSTILE }],
    policy: {
      egress: {
        allow: [ALL_HOSTILE],
        dlp: "block",
        routes: [{ host: ALL_HOSTILE, paths: [ALL_HOSTILE], methods: [ALL_HOSTILE] }],
      },
      git: {
        remotes: [{ name: ALL_HOSTILE, url: ALL_HOSTILE, gateUrl: null }],
        gitleaksExceptions: [ALL_HOSTILE],
      },
    },
    pending: [],
    refusals: parseRefusals(log),
    limits: {
      rate: [{ host: ALL_HOSTILE, refusals: 1, bursts: 1 }],
      names: [{ wildcard: ALL_HOSTILE, used: 1, budget: 1, refusals: 1 }],
    },
  };

  it("every field read from the bottle is shown escaped", () => {
    const text = formatInfo(info, [], bottle, new Date("2030-01-01T12:00:00.000Z"));
    expect(rawControlsIn(text, { newline: true })).toEqual([]);
    expect(text).toContain("bottle deva\\x1b[2J\\x1b[Hb: agent a\\x1b[2J");
    expect(text).toContain("GETfix\\u202etxt.exe evilx\\x1b]0;pwned\\x07y.test:443/");
    // The header, the services table, the policy lines and the refusals table: no row was
    // split by a newline or overwritten by a carriage return.
    expect(text.split("\n").filter((l) => l.startsWith("allowed hosts: "))).toHaveLength(1);
  });
});
