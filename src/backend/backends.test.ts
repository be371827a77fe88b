import { describe, expect, it } from "vitest";
import { BOTTLE_SLUG_LABEL } from "../contracts/agent.js";
import { InputError } from "../shared/errors.js";
import { BACKEND_NAMES, backendNamed } from "./backends.js";
import { parseEngineEvent } from "./compose/compose-backend.js";
import type { LaunchContext } from "./start-plan.js";

const launch = { home: "/h" } as LaunchContext;

describe("backendNamed", () => {
  it("gives the Compose backend by default name", () => {
    expect(backendNamed("compose", launch).name).toBe("compose");
    expect(BACKEND_NAMES).toContain("compose");
  });

  it("refuses an unknown name, naming the nearest and every choice", () => {
    let error: unknown;
    try {
      backendNamed("compse", launch);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(
      'unknown backend "compse" (did you mean "compose"?)',
    );
    expect((error as InputError).hint).toContain("compose");
  });
});

describe("parseEngineEvent", () => {
  it("reads a bottle's container event", () => {
    const line = JSON.stringify({
      Type: "container",
      Action: "die",
      timeNano: 1.7e18,
      Actor: {
        Attributes: { [BOTTLE_SLUG_LABEL]: "demo-ab12", "com.docker.compose.service": "egress" },
      },
    });
    expect(parseEngineEvent(line)).toEqual({
      slug: "demo-ab12",
      service: "egress",
      action: "die",
      time: new Date(1_700_000_000_000),
    });
  });

  it("passes over other containers' events and lines it cannot read", () => {
    expect(parseEngineEvent(JSON.stringify({ Action: "start", Actor: { Attributes: {} } }))).toBe(
      null,
    );
    expect(parseEngineEvent("not json")).toBe(null);
    expect(
      parseEngineEvent(JSON.stringify({ Actor: { Attributes: { [BOTTLE_SLUG_LABEL]: "x" } } })),
    ).toBe(null);
  });
});
