// The options planBottle is given in unit tests: no gVisor, no private upstreams, no extra CA.
import type { BlueprintOptions } from "../../../src/core/bottle-blueprint.js";

/** Blueprint options for suffix "beef" in home "/h", with `changes` laid over them. */
export function blueprintOptions(changes: Partial<BlueprintOptions> = {}): BlueprintOptions {
  return {
    suffix: "beef",
    home: "/h",
    buildContext: "/pkg",
    useRunsc: false,
    allowPrivateUpstreams: false,
    upstreamCaPath: null,
    ...changes,
  };
}
