import { describe, expect, it } from "vitest";
import type { KubernetesObject } from "./kubernetes-objects.js";
import { validateKubernetesObject } from "./validate-objects.js";

describe("validateKubernetesObject", () => {
  it("checks each kind against its own schema", () => {
    const service = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: {} };
    expect(() => validateKubernetesObject(service as KubernetesObject)).not.toThrow();
    const badSecret = { ...service, kind: "Secret", data: { key: 7 } };
    expect(() => validateKubernetesObject(badSecret as unknown as KubernetesObject)).toThrow(
      "rendered Secret/s fails the Kubernetes schema",
    );
  });

  it("refuses a kind it has no schema for, rather than passing it unchecked", () => {
    for (const kind of ["Deployment", "constructor", "__proto__"]) {
      const object = { apiVersion: "v1", kind, metadata: { name: "x" } };
      expect(() => validateKubernetesObject(object as unknown as KubernetesObject)).toThrow(
        `rendered ${kind}/x is of a kind with no schema to check it against`,
      );
    }
  });
});
