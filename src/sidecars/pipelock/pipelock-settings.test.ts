import { describe, expect, it } from "vitest";
import { readPipelockSettings } from "./pipelock-settings.js";

describe("readPipelockSettings", () => {
  it("reads the command line Compose gives pipelock", () => {
    expect(
      readPipelockSettings(["run", "--config", "/etc/pipelock.yaml", "--listen", "0.0.0.0:8888"]),
    ).toEqual({
      configPath: "/etc/pipelock.yaml",
      listen: { host: "0.0.0.0", port: 8888 },
      caCertPath: "/etc/pipelock/ca.pem",
      caKeyPath: "/etc/pipelock/ca-key.pem",
    });
    expect(
      readPipelockSettings(["run", "--listen=[::]:9000", "--ca-cert=/c", "--ca-key", "/k"]),
    ).toMatchObject({
      listen: { host: "::", port: 9000 },
      caCertPath: "/c",
      caKeyPath: "/k",
    });
  });

  it("refuses unknown commands and options, and missing values", () => {
    expect(() => readPipelockSettings([])).toThrow('unknown command ""');
    expect(() => readPipelockSettings(["healthcheck"])).toThrow('unknown command "healthcheck"');
    expect(() => readPipelockSettings(["run", "--verbose"])).toThrow('unknown option "--verbose"');
    expect(() => readPipelockSettings(["run", "--config"])).toThrow("--config needs a value");
    expect(() => readPipelockSettings(["run", "--listen", "8888"])).toThrow(
      '--listen "8888": expected HOST:PORT, e.g. 0.0.0.0:8888',
    );
  });
});
