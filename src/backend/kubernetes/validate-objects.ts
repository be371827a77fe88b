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

/** Throws with the object's kind, name and the schema's complaint. */
export function validateKubernetesObject(object: KubernetesObject): void {
  const where = `${object.kind}/${object.metadata?.name ?? "?"}`;
  try {
    switch (object.kind) {
      case "Namespace":
        new Namespace(object).validate();
        break;
      case "ConfigMap":
        new ConfigMap(object).validate();
        break;
      case "Secret":
        new Secret(object).validate();
        break;
      case "Service":
        new Service(object).validate();
        break;
      case "Pod":
        new Pod(object).validate();
        break;
      case "NetworkPolicy":
        new NetworkPolicy(object).validate();
        break;
    }
  } catch (error) {
    throw new Error(
      `rendered ${where} fails the Kubernetes schema: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
