// pipelock's settings, read from its argv: one command and a handful of flags, written by the
// bottle's renderer. Hand-parsed to keep the bundle free of a CLI library.

import {
  PIPELOCK_CA_CERT_IN_CONTAINER,
  PIPELOCK_CA_KEY_IN_CONTAINER,
  PIPELOCK_CONFIG_IN_CONTAINER,
  PIPELOCK_PORT,
} from "../../contracts/pipelock.js";
import { InputError } from "../../shared/errors.js";

export interface PipelockSettings {
  configPath: string;
  listen: { host: string; port: number };
  caCertPath: string;
  caKeyPath: string;
}

export const USAGE = `usage:
  pipelock run [--config PATH] [--listen HOST:PORT] [--ca-cert PATH] [--ca-key PATH]`;

const FLAGS: readonly string[] = ["--config", "--listen", "--ca-cert", "--ca-key"];

export function readPipelockSettings(argv: readonly string[]): PipelockSettings {
  const [command, ...rest] = argv;
  if (command !== "run") {
    throw new InputError(`unknown command ${JSON.stringify(command ?? "")}`, { hint: USAGE });
  }
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!FLAGS.includes(name))
      throw new InputError(`unknown option ${JSON.stringify(arg)}`, { hint: USAGE });
    const value = eq === -1 ? rest[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "")
      throw new InputError(`${name} needs a value`, { hint: USAGE });
    flags.set(name, value);
  }
  return {
    configPath: flags.get("--config") ?? PIPELOCK_CONFIG_IN_CONTAINER,
    listen: parseListen(flags.get("--listen") ?? `0.0.0.0:${PIPELOCK_PORT}`),
    caCertPath: flags.get("--ca-cert") ?? PIPELOCK_CA_CERT_IN_CONTAINER,
    caKeyPath: flags.get("--ca-key") ?? PIPELOCK_CA_KEY_IN_CONTAINER,
  };
}

function parseListen(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) {
    throw new InputError(
      `--listen ${JSON.stringify(text)}: expected HOST:PORT, e.g. 0.0.0.0:${PIPELOCK_PORT}`,
    );
  }
  return { host: (match[1] as string).replace(/^\[(.*)\]$/, "$1"), port };
}
