import { describe, expect, it } from "vitest";
import { parsePipelockArgs } from "./cli-args.js";

describe("parsePipelockArgs", () => {
  it("reads the command line Compose gives pipelock", () => {
    expect(
      parsePipelockArgs(["run", "--config", "/etc/pipelock.yaml", "--listen", "0.0.0.0:8888"]),
    ).toEqual({
      command: "run",
      configPath: "/etc/pipelock.yaml",
      listen: { host: "0.0.0.0", port: 8888 },
      caCertPath: "/etc/pipelock/ca.pem",
      caKeyPath: "/etc/pipelock/ca-key.pem",
    });
    expect(
      parsePipelockArgs(["run", "--listen=[::]:9000", "--ca-cert=/c", "--ca-key", "/k"]),
    ).toMatchObject({
      listen: { host: "::", port: 9000 },
      caCertPath: "/c",
      caKeyPath: "/k",
    });
    expect(parsePipelockArgs(["healthcheck"])).toEqual({
      command: "healthcheck",
      url: "http://127.0.0.1:8888/__pipelock/healthz",
    });
  });

  it("refuses unknown commands and options, and missing values", () => {
    expect(() => parsePipelockArgs([])).toThrow('unknown command ""');
    expect(() => parsePipelockArgs(["run", "--verbose"])).toThrow('unknown option "--verbose"');
    expect(() => parsePipelockArgs(["run", "--config"])).toThrow("--config needs a value");
    expect(() => parsePipelockArgs(["run", "--listen", "8888"])).toThrow(
      '--listen "8888": expected HOST:PORT, e.g. 0.0.0.0:8888',
    );
  });
});
