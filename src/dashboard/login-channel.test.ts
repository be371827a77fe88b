import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import { InputError } from "../shared/errors.js";
import {
  announceRunning,
  dashboardDirOf,
  readRunning,
  requestLogin,
  watchLogins,
  withdrawRunning,
} from "./login-channel.js";

const home = tempDirPerTest("cb-login-");

describe("a new sign-in link for a running dashboard", () => {
  it("hands a minted token to the running dashboard and returns its URL once taken", async () => {
    await announceRunning(home(), { port: 8377, pid: process.pid, startedAt: "t" });
    expect((await stat(join(dashboardDirOf(home()), "running.json"))).mode & 0o777).toBe(0o600);
    const taken: string[] = [];
    const watcher = watchLogins(home(), (t) => taken.push(t), 50);
    try {
      const url = await requestLogin(home());
      const token = /^http:\/\/127\.0\.0\.1:8377\/#token=([0-9a-f]{48})$/.exec(url)?.[1];
      expect(token).toBeDefined();
      expect(taken).toEqual([token]);
      // The file is gone: the token is nowhere on disk any more.
      expect(await readdir(join(dashboardDirOf(home()), "logins"))).toEqual([]);
    } finally {
      watcher.stop();
    }
  });

  it("says so when no dashboard runs, or the one announced has died", async () => {
    await expect(requestLogin(home())).rejects.toThrow(InputError);
    await expect(requestLogin(home())).rejects.toThrow(/no dashboard is running/);
    await announceRunning(home(), { port: 1, pid: 2 ** 22 + 12_345, startedAt: "t" });
    expect(await readRunning(home())).toBeNull();
  });

  it("fails, leaving no token behind, when the dashboard does not take it", async () => {
    await announceRunning(home(), { port: 8377, pid: process.pid, startedAt: "t" });
    await expect(requestLogin(home(), 300)).rejects.toThrow(/did not take the sign-in/);
    expect(await readdir(join(dashboardDirOf(home()), "logins"))).toEqual([]);
  });

  it("passes over files that are not tokens, and withdraws only its own announcement", async () => {
    await announceRunning(home(), { port: 8377, pid: process.pid, startedAt: "t" });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(
      join(dashboardDirOf(home()), "logins", "0123456789abcdef.token"),
      "not-a-token\n",
    );
    const taken: string[] = [];
    const watcher = watchLogins(home(), (t) => taken.push(t), 20);
    await new Promise((r) => setTimeout(r, 200));
    watcher.stop();
    expect(taken).toEqual([]);
    await withdrawRunning(home(), process.pid + 1);
    expect(await readRunning(home())).not.toBeNull();
    await withdrawRunning(home(), process.pid);
    expect(await readRunning(home())).toBeNull();
  });
});
