import { mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import {
  endedDirOf,
  outcomeWords,
  parseEndedRecord,
  readEnded,
  recordBottleEnd,
  recordEnded,
} from "./ended-bottles.js";

const home = tempDirPerTest("cb-ended-");

const base = {
  agent: "watched",
  bottle: "watched",
  startedAt: "2030-01-01T00:00:00.000Z",
  exitCode: null,
  by: "stop",
  work: null,
} as const;

describe("ended bottles", () => {
  it("reads back what was recorded, the last day's only, newest first", async () => {
    const at = (iso: string) => () => new Date(iso);
    expect(
      await recordEnded(
        home(),
        { ...base, slug: "old-1", how: "removed", by: "cleanup" },
        at("2030-01-01T00:00:00Z"),
      ),
    ).toBeNull();
    await recordEnded(
      home(),
      { ...base, slug: "a-1", how: "exited", exitCode: 3, by: "start" },
      at("2030-01-02T10:00:00Z"),
    );
    await recordEnded(home(), { ...base, slug: "b-2", how: "stopped" }, at("2030-01-02T11:00:00Z"));
    const shown = await readEnded(home(), new Date("2030-01-02T12:00:00Z"));
    expect(shown.map((r) => [r.slug, outcomeWords(r)])).toEqual([
      ["b-2", "stopped by stop"],
      ["a-1", "its program exited with code 3"],
    ]);
    const file = join(endedDirOf(home()), "a-1.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ slug: "a-1", exitCode: 3 });
  });

  it("deletes records older than a week when it writes one", async () => {
    await recordEnded(
      home(),
      { ...base, slug: "gone-1", how: "stopped" },
      () => new Date("2030-01-01T00:00:00Z"),
    );
    await recordEnded(
      home(),
      { ...base, slug: "new-1", how: "stopped" },
      () => new Date("2030-01-09T00:00:00Z"),
    );
    const all = await readEnded(home(), new Date("2030-01-09T00:00:00Z"), 365 * 86_400_000);
    expect(all.map((r) => r.slug)).toEqual(["new-1"]);
  });

  it("refuses a slug that is no file name, and never throws", async () => {
    expect(await recordEnded(home(), { ...base, slug: "../x", how: "stopped" })).toMatch(
      /not a slug/,
    );
    await writeFile(join(home(), "ended"), "a file where the directory goes");
    expect(await recordEnded(home(), { ...base, slug: "s-1", how: "stopped" })).toMatch(
      /could not record the end of s-1/,
    );
  });

  it("passes over files that are not records, and symlinks", async () => {
    const dir = endedDirOf(home());
    await mkdir(dir, { recursive: true });
    const now = new Date();
    await writeFile(join(dir, "bad-1.json"), "{not json");
    await writeFile(
      join(dir, "other-1.json"),
      JSON.stringify({ slug: "someone-else", how: "stopped", endedAt: now.toISOString() }),
    );
    await writeFile(
      join(home(), "target.json"),
      JSON.stringify({ slug: "link-1", how: "stopped", endedAt: now.toISOString() }),
    );
    await symlink(join(home(), "target.json"), join(dir, "link-1.json"));
    expect(await readEnded(home(), now)).toEqual([]);
    expect(
      parseEndedRecord(
        JSON.stringify({ slug: "x", how: "vanished", endedAt: now.toISOString() }),
        "x",
      ),
    ).toBeNull();
  });

  it("records an end from what the ending code knows: exit code, command, metadata, kept work", async () => {
    const metadata = { agent: "coder", bottle: "web", createdAt: "2030-01-01T00:00:00.000Z" };
    const kept = {
      repoDir: "/src/app",
      dir: "/h/kept/e-1",
      branches: [{ branch: "claude-bottle/e-1/main", agentName: "main", renamed: false }],
      patch: "/h/kept/e-1/changes.patch",
      workCopy: null,
    };
    expect(
      await recordBottleEnd(home(), { slug: "e-1", command: "start", exitCode: 0, metadata, kept }),
    ).toBeNull();
    await recordBottleEnd(home(), { slug: "e-2", command: "cleanup", metadata: null, kept: null });
    await recordBottleEnd(home(), { slug: "e-3", command: "stop" });
    const byslug = Object.fromEntries(
      (await readEnded(home(), new Date())).map((r) => [r.slug, r]),
    );
    expect(byslug["e-1"]).toMatchObject({
      agent: "coder",
      bottle: "web",
      how: "exited",
      exitCode: 0,
      by: "start",
      work: "branches claude-bottle/e-1/… in /src/app; a patch in /h/kept/e-1/changes.patch",
    });
    expect(byslug["e-2"]).toMatchObject({ how: "removed", by: "cleanup", work: null });
    expect(byslug["e-3"]).toMatchObject({ how: "stopped", by: "stop", exitCode: null });
  });
});
