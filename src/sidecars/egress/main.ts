// Entry point of the egress image (`node egress.mjs`, no arguments): its settings from the
// environment (egress-settings.ts), started and stopped as every sidecar is
// (src/shared/sidecar-process.ts).
import { runSidecar } from "../../shared/sidecar-process.js";
import { readEgressSettings } from "./egress-settings.js";
import { startEgress } from "./start-egress.js";

await runSidecar({
  name: "egress",
  start: (env) => startEgress({ settings: readEgressSettings(env), env }),
});
