// A new sign-in link for a dashboard that is already running, with no restart: a crashed tab,
// another browser or another device each need one, and the printed token works once. The
// running dashboard says where it listens in <home>/dashboard/running.json and watches
// <home>/dashboard/logins/; `claude-bottle dashboard --login` mints a token, drops it there
// as a file only the user can read, and prints the URL once the dashboard has taken it (and
// deleted the file). The token never appears in argv, in a log or on the network but in
// the URL the user opens, exactly as the first one. Both files live in the user's own home:
// whoever can write there can already do anything a dashboard can.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isProcessAlive } from "../backend/bottle-state.js";
import { BottleError, InputError } from "../shared/errors.js";
import { readTextNoFollow, writeFileAtomic } from "../shared/queue-files.js";

/** How long a link made by --login works, unused (ms). */
export const LOGIN_TOKEN_LIFETIME_MS = 10 * 60 * 1000;
const TOKEN = /^[0-9a-f]{48}$/;
const TOKEN_FILE = /^[0-9a-f]{16}\.token$/;

export interface RunningState {
  port: number;
  pid: number;
  startedAt: string;
}

export const dashboardDirOf = (home: string) => join(home, "dashboard");
const runningFileOf = (home: string) => join(dashboardDirOf(home), "running.json");
const loginsDirOf = (home: string) => join(dashboardDirOf(home), "logins");

export function newToken(): string {
  return randomBytes(24).toString("hex");
}

/** Says that this process serves the home's dashboard on `port`. */
export async function announceRunning(home: string, state: RunningState): Promise<void> {
  await mkdir(loginsDirOf(home), { recursive: true, mode: 0o700 });
  await writeFileAtomic(runningFileOf(home), `${JSON.stringify(state)}\n`, 0o600);
}

/** Takes the announcement back, if it is still this process's. */
export async function withdrawRunning(home: string, pid: number): Promise<void> {
  const state = await readRunning(home);
  if (state !== null && state.pid === pid) await rm(runningFileOf(home), { force: true });
}

/** The running dashboard of this home, or null when none says so (or it has died). */
export async function readRunning(home: string): Promise<RunningState | null> {
  const text = await readTextNoFollow(runningFileOf(home), 4096).catch(() => null);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Partial<RunningState>;
    if (!Number.isInteger(v.port) || !Number.isInteger(v.pid)) return null;
    const state = { port: v.port as number, pid: v.pid as number, startedAt: String(v.startedAt) };
    return isProcessAlive(state.pid) ? state : null;
  } catch {
    return null;
  }
}

/**
 * Watches the logins directory: every token dropped there is handed to `accept` and its file
 * deleted. Polls (a few stats a second), which works on every filesystem the home may be on.
 */
export function watchLogins(
  home: string,
  accept: (token: string) => void,
  everyMs = 250,
): { stop(): void } {
  const dir = loginsDirOf(home);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      names = [];
    }
    for (const name of names.filter((n) => TOKEN_FILE.test(n))) {
      const path = join(dir, name);
      const text = await readTextNoFollow(path, 256).catch(() => null);
      await rm(path, { force: true }).catch(() => {});
      const token = text?.trim() ?? "";
      if (TOKEN.test(token)) accept(token);
    }
    if (!stopped) timer = setTimeout(look, everyMs);
  };
  timer = setTimeout(look, 0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * A new sign-in URL from the home's running dashboard: the token is dropped for it and the
 * URL returned once it took it. Throws naming the fix when none runs or it does not answer.
 */
export async function requestLogin(home: string, waitMs = 5000): Promise<string> {
  const running = await readRunning(home);
  if (running === null) {
    throw new InputError(`no dashboard is running for ${home}`, {
      hint: "start one with `claude-bottle dashboard`; it prints its own sign-in link",
    });
  }
  const token = newToken();
  const path = join(loginsDirOf(home), `${randomBytes(8).toString("hex")}.token`);
  await mkdir(loginsDirOf(home), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${token}\n`, 0o600);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if ((await readTextNoFollow(path, 256).catch(() => null)) === null) {
      return `http://127.0.0.1:${running.port}/#token=${token}`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await rm(path, { force: true });
  throw new BottleError(
    `the dashboard on port ${running.port} (pid ${running.pid}) did not take the sign-in within ${Math.round(waitMs / 1000)} s`,
    { hint: "is it stuck? stop it (Ctrl-C) and start `claude-bottle dashboard` again" },
  );
}
