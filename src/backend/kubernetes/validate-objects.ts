// Checks rendered objects against the Kubernetes OpenAPI schemas that kubernetes-models
// ships (generated from the official spec; nothing is fetched). A renderer bug is refused
// here, before a file is written, rather than by the user's cluster.

import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Pod } from "kubernetes-models/v1/Pod";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import type { KubernetesObject } from "./kubernetes-objects.js";

/** The schema of each kind the renderer writes. */
const MODELS: Readonly<Record<string, new (object: never) => { validate(): void }>> = {
  Namespace,
  ConfigMap,
  Secret,
  Service,
  Pod,
  NetworkPolicy,
};

/** Throws with the object's kind, name and the schema's complaint; a kind with no schema here too. */
export function validateKubernetesObject(object: KubernetesObject): void {
  const where = `${object.kind}/${object.metadata?.name ?? "?"}`;
  const Model = Object.hasOwn(MODELS, object.kind) ? MODELS[object.kind] : undefined;
  if (Model === undefined) {
    throw new Error(`rendered ${where} is of a kind with no schema to check it against`);
  }
  try {
    new Model(object as never).validate();
  } catch (error) {
    throw new Error(
      `rendered ${where} fails the Kubernetes schema: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
