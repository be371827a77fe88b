import { cp, symlink } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  AGENTS,
  BOTTLES,
  inputError,
  useUserHomes,
} from "../../test/support/fixtures/user-home-fixture.js";
import { listAgents, loadAgent } from "./load-agent.js";

const homes = useUserHomes();

const REPO_AGENTS = "repo/.claude-bottle/agents";
const BASE = { [`${BOTTLES}/base.md`]: "---\negress:\n  allow: [api.anthropic.com]\n---\n" };

async function agentError(
  files: Record<string, string>,
  name: string,
  withRepo = false,
): Promise<{ message: string; hint: string | undefined }> {
  const options = await homes.make(files);
  const repoDir = withRepo ? { repoDir: join(options.userHome, "repo") } : {};
  const { message, hint } = await inputError(loadAgent(name, { ...options, ...repoDir }));
  return { message, hint };
}

/** Loading `agent` from these files fails with exactly this message (and hint, if given). */
interface AgentErrorCase {
  name: string;
  files: Record<string, string>;
  agent: string;
  withRepo?: boolean;
  error: { message: string; hint?: string };
}

async function expectAgentError({ files, agent, withRepo, error }: AgentErrorCase) {
  expect(await agentError(files, agent, withRepo)).toMatchObject(error);
}

describe("loadAgent", () => {
  it("loads a home agent with its prompt, skills and folded bottle", async () => {
    const options = await homes.make({
      ...BASE,
      [`${BOTTLES}/dev.md`]: "---\nextends: base\nsupervise: false\n---\n",
      [`${AGENTS}/skills/local/SKILL.md`]: "local skill\n",
      "shared-skills/lint/SKILL.md": "lint skill\n",
      [`${AGENTS}/dev.md`]: `---
bottle: dev
description: Everyday development.
skills: [review, ./skills/local, ~/shared-skills/lint]
---

You are a careful engineer.

Run the tests before you push.
`,
    });
    const agent = await loadAgent("dev", options);
    expect(agent).toMatchObject({
      name: "dev",
      file: join(options.userHome, AGENTS, "dev.md"),
      label: "~/.claude-bottle/agents/dev.md",
      source: "home",
      description: "Everyday development.",
      prompt: "You are a careful engineer.\n\nRun the tests before you push.",
      skills: [
        { kind: "name", name: "review" },
        { kind: "path", path: join(options.userHome, AGENTS, "skills/local") },
        { kind: "path", path: join(options.userHome, "shared-skills/lint") },
      ],
      bottle: { name: "dev", chain: ["base", "dev"], supervise: false },
    });
    expect(agent.bottle.egress.allow.map((rule) => rule.pattern)).toEqual(["api.anthropic.com"]);
  });

  it("loads a repository's agent, whose bottle still comes from the home", async () => {
    const options = await homes.make({
      ...BASE,
      "repo/tools/skill-a/SKILL.md": "a\n",
      [`${REPO_AGENTS}/helper.md`]:
        "---\nbottle: base\nskills: [../../tools/skill-a]\n---\nHelp.\n",
    });
    const agent = await loadAgent("helper", {
      ...options,
      repoDir: join(options.userHome, "repo"),
    });
    expect(agent).toMatchObject({
      label: "~/repo/.claude-bottle/agents/helper.md",
      source: "repo",
      description: null,
      prompt: "Help.",
      skills: [{ kind: "path", path: join(options.userHome, "repo/tools/skill-a") }],
      bottle: { name: "base", label: "~/.claude-bottle/bottles/base.md" },
    });
  });

  it("lists the agents of the home and the repository", async () => {
    const options = await homes.make({
      [`${AGENTS}/dev.md`]: "",
      [`${AGENTS}/review.md`]: "",
      [`${REPO_AGENTS}/helper.md`]: "",
    });
    const agents = await listAgents({ ...options, repoDir: join(options.userHome, "repo") });
    expect(agents.map((a) => [a.name, a.source, a.label])).toEqual([
      ["dev", "home", "~/.claude-bottle/agents/dev.md"],
      ["helper", "repo", "~/repo/.claude-bottle/agents/helper.md"],
      ["review", "home", "~/.claude-bottle/agents/review.md"],
    ]);
  });

  it("treats a repository that is the home's parent as no repository", async () => {
    const options = await homes.make({ ...BASE, [`${AGENTS}/dev.md`]: "---\nbottle: base\n---\n" });
    const agent = await loadAgent("dev", { ...options, repoDir: options.userHome });
    expect(agent.source).toBe("home");
  });
});

describe("loadAgent: the trust boundary, each error with its exact message", () => {
  it.each<AgentErrorCase>([
    {
      name: "refuses a repository that ships bottles",
      files: {
        ...BASE,
        [`${REPO_AGENTS}/helper.md`]: "---\nbottle: base\n---\n",
        "repo/.claude-bottle/bottles/base.md":
          "---\negress:\n  allow: [collector.example.test]\n---\n",
      },
      agent: "helper",
      withRepo: true,
      error: {
        message:
          "~/repo/.claude-bottle/bottles/base.md: a repository cannot provide bottles; bottles live only in ~/.claude-bottle/bottles/, because a cloned repo must not be able to point a secret at a host of its choosing",
        hint: "review the file; if you trust it, move it to ~/.claude-bottle/bottles/, and delete it from the repository",
      },
    },
    {
      name: "refuses an agent whose bottle is a path",
      files: { ...BASE, [`${REPO_AGENTS}/helper.md`]: "---\nbottle: ../bottles/open.md\n---\n" },
      agent: "helper",
      withRepo: true,
      error: {
        message:
          '~/repo/.claude-bottle/agents/helper.md:2:1: bottle: "../bottles/open.md" is a path; an agent names a bottle kept in ~/.claude-bottle/bottles/ (e.g. bottle: open), because a cloned repo must not be able to point a secret at a host of its choosing',
      },
    },
    {
      name: "refuses an agent defined both in the home and in the repository",
      files: {
        ...BASE,
        [`${AGENTS}/dev.md`]: "---\nbottle: base\n---\n",
        [`${REPO_AGENTS}/dev.md`]: "---\nbottle: base\n---\n",
      },
      agent: "dev",
      withRepo: true,
      error: {
        message:
          'agent "dev" is defined twice: ~/.claude-bottle/agents/dev.md and ~/repo/.claude-bottle/agents/dev.md; rename one of them',
        hint: "an agent in a repository never stands in for one of yours, nor yours for the repository's",
      },
    },
  ])("$name", expectAgentError);

  it("refuses a repository agent that is a link to a file outside the repository", async () => {
    const options = await homes.make({
      ...BASE,
      "elsewhere/agents/dev.md": "---\nbottle: base\n---\nnot the repository's own\n",
      "repo/.claude-bottle/README": "",
    });
    // The whole agents directory is a link out of the repository.
    await symlink(join(options.userHome, "elsewhere/agents"), join(options.userHome, REPO_AGENTS));
    const error = await inputError(
      loadAgent("dev", { ...options, repoDir: join(options.userHome, "repo") }),
    );
    expect({ message: error.message, hint: error.hint }).toEqual({
      message:
        "~/repo/.claude-bottle/agents/dev.md leads outside the repository (through a symbolic link)",
      hint: "an agent from a repository must be a file inside it: replace the link with the file",
    });
  });

  it("refuses a repository agent's skills outside the repository", async () => {
    const error = await agentError(
      {
        ...BASE,
        ".ssh/config": "",
        [`${REPO_AGENTS}/helper.md`]:
          "---\nbottle: base\nskills:\n  - ../../../.ssh\n  - ~/.ssh\n---\n",
      },
      "helper",
      true,
    );
    expect(error.message).toBe(
      [
        '~/repo/.claude-bottle/agents/helper.md:4:5: skills[0]: "../../../.ssh" leads outside the repository; an agent from a repository may only use skills inside it',
        '~/repo/.claude-bottle/agents/helper.md:5:5: skills[1]: "~/.ssh" is outside the repository; an agent from a repository may only use skills inside it: write a path relative to ~/repo/.claude-bottle/agents/helper.md',
      ].join("\n"),
    );
  });
});

describe("loadAgent: malformed agents, each with its exact message", () => {
  const malformed: AgentErrorCase[] = [
    {
      name: "an agent whose bottle does not exist",
      files: {
        [`${BOTTLES}/dev.md`]: "---\n---\n",
        [`${AGENTS}/coder.md`]: "---\ndescription: Writes code.\nbottle: dve\n---\n",
      },
      agent: "coder",
      error: {
        message:
          '~/.claude-bottle/agents/coder.md:3:1: bottle: no bottle "dve": ~/.claude-bottle/bottles/dve.md does not exist (did you mean "dev"?)',
      },
    },
    {
      name: "unknown keys, and no bottle",
      files: { [`${AGENTS}/coder.md`]: "---\ndescripton: Writes code.\nmodel: opus\n---\n" },
      agent: "coder",
      error: {
        message: [
          '~/.claude-bottle/agents/coder.md:2:1: bottle: required key "bottle" is missing',
          '~/.claude-bottle/agents/coder.md:2:1: descripton: unknown key "descripton" (did you mean "description"?)',
          '~/.claude-bottle/agents/coder.md:3:1: model: unknown key "model" (allowed here: bottle, skills, description)',
        ].join("\n"),
        hint: "`claude-bottle docs manifests` describes every key; `claude-bottle init` writes complete examples",
      },
    },
    {
      name: "a skill that is neither a name nor a path",
      files: { ...BASE, [`${AGENTS}/coder.md`]: "---\nbottle: base\nskills: [Code Review]\n---\n" },
      agent: "coder",
      error: {
        message:
          '~/.claude-bottle/agents/coder.md:3:10: skills[0]: "Code Review" is neither a skill name (lowercase letters, digits and dashes) nor a path (/…, ~/… or ./…)',
      },
    },
    {
      name: "an agent whose bottle is not a bottle name",
      files: { [`${AGENTS}/coder.md`]: "---\nbottle: Dev Box\n---\n" },
      agent: "coder",
      error: {
        message:
          '~/.claude-bottle/agents/coder.md:2:1: bottle: "Dev Box" is not a bottle name: bottle names are lowercase letters, digits and dashes, at most 40, starting with a letter or digit',
      },
    },
    {
      name: "a skill path that does not exist",
      files: { ...BASE, [`${AGENTS}/coder.md`]: "---\nbottle: base\nskills: [./missing]\n---\n" },
      agent: "coder",
      error: {
        message:
          "~/.claude-bottle/agents/coder.md:3:10: skills[0]: ~/.claude-bottle/agents/missing does not exist; fix the path",
      },
    },
    {
      name: "an agent that does not exist",
      files: { [`${AGENTS}/coder.md`]: "" },
      agent: "codr",
      withRepo: true,
      error: {
        message:
          'no agent "codr": neither ~/.claude-bottle/agents/codr.md nor ~/repo/.claude-bottle/agents/codr.md exists (did you mean "coder"?)',
        hint: "agents you have: coder",
      },
    },
    {
      name: "a name that cannot be an agent's",
      files: {},
      agent: "../dev",
      error: {
        message:
          '"../dev" is not an agent name: agent names are lowercase letters, digits and dashes, at most 40, starting with a letter or digit',
        hint: 'an agent\'s name is its file name without ".md", e.g. ~/.claude-bottle/agents/dev.md',
      },
    },
  ];

  it.each(malformed)("$name", expectAgentError);
});

describe("examples/manifests", () => {
  /** Loads `name` from a home that is a copy of examples/manifests. */
  async function loadExampleAgent(name: string) {
    const options = await homes.make({});
    const examples = fileURLToPath(new URL("../../examples/manifests", import.meta.url));
    await cp(examples, join(options.userHome, ".claude-bottle"), { recursive: true });
    return loadAgent(name, options);
  }

  it("is a valid home: the demo agent loads with its bottle", async () => {
    const agent = await loadExampleAgent("demo");
    expect(agent.bottle.chain).toEqual(["base", "claude", "demo"]);
    expect(agent.bottle.egress.allow.map((rule) => rule.pattern)).toEqual([
      "*.example.test",
      "downloads.example.test:8443",
      "api.anthropic.com",
      "api.example.test",
    ]);
    // The model key and the demo API token reach their hosts through egress only.
    expect(agent.bottle.egress.routes.map((route) => route.auth.tokenEnv)).toEqual([
      "ANTHROPIC_API_KEY",
      "DEMO_API_TOKEN",
    ]);
    expect(agent.bottle.env.ANTHROPIC_API_KEY).toMatchObject({ kind: "literal" });
    expect(agent.prompt).toMatch(/^You are running inside a claude-bottle/);
  });

  it.each([
    ["claude", "api.anthropic.com", { scheme: "x-api-key", tokenEnv: "ANTHROPIC_API_KEY" }],
    ["codex", "api.openai.com", { scheme: "Bearer", tokenEnv: "OPENAI_API_KEY" }],
    [
      "gemini",
      "generativelanguage.googleapis.com",
      { scheme: "header", header: "x-goog-api-key", tokenEnv: "GEMINI_API_KEY" },
    ],
  ])(
    "has a %s agent whose bottle routes its model API and gives it only a placeholder",
    async (name, host, auth) => {
      const agent = await loadExampleAgent(name);
      expect(agent.bottle.agent).toBe(name);
      expect(agent.bottle.chain).toEqual(["base", name]);
      expect(agent.bottle.egress.routes.map((r) => [r.host, r.auth])).toEqual([[host, auth]]);
      expect(agent.bottle.egress.allow.map((rule) => rule.pattern)).toEqual([host]);
      expect(agent.bottle.env[auth.tokenEnv]).toMatchObject({
        kind: "literal",
        value: "placeholder-egress-injects-the-real-key",
      });
      expect(agent.bottle.supervise).toBe(true);
    },
  );
});
