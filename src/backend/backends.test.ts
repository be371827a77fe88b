import { describe, expect, it } from "vitest";
import { BOTTLE_SLUG_LABEL } from "../contracts/agent.js";
import { InputError } from "../shared/errors.js";
import { BACKEND_NAMES, backendNamed, RENDERER_NAMES, rendererNamed } from "./backends.js";
import { parseEngineEvent } from "./compose/compose-backend.js";
import type { LaunchContext } from "./start-plan.js";

const launch = { home: "/h", env: {} } as LaunchContext;

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

  it("refuses an engine that only renders, saying how to render it and what runs", () => {
    expect(BACKEND_NAMES).not.toContain("kubernetes");
    expect(() => backendNamed("kubernetes", launch)).toThrow(
      expect.objectContaining({
        message: "the kubernetes backend only renders; it does not run bottles here",
        hint: expect.stringMatching(
          /claude-bottle render --backend kubernetes <agent>`; run bottles with one of: compose, swarm$/,
        ),
      }),
    );
  });

  it("takes no name from the object prototype", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(() => backendNamed(name, launch), name).toThrow(InputError);
      expect(() => rendererNamed(name, launch), name).toThrow(InputError);
    }
  });
});

describe("rendererNamed", () => {
  it("gives every engine, the render-only ones too", () => {
    expect(RENDERER_NAMES).toEqual(["compose", "swarm", "kubernetes"]);
    for (const name of RENDERER_NAMES) expect(rendererNamed(name, launch).name).toBe(name);
  });

  it("refuses an unknown name with the render choices", () => {
    expect(() => rendererNamed("kubernets", launch)).toThrow(
      expect.objectContaining({
        message: 'unknown backend "kubernets" (did you mean "kubernetes"?)',
        hint: "render one of: compose, swarm, kubernetes",
      }),
    );
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
