// A stand-in model API for the real agent binaries: Anthropic Messages (streaming SSE or
// JSON), OpenAI Responses (streaming SSE) and Gemini generateContent/streamGenerateContent,
// dependency-free, bundled with websocket-server.mjs into one file (dist/demo/) that runs
// alone in a container. It plays the model from a script: each turn is a tool call
// (a shell command, or any tool the agent declared, found by the end of its name) or a final
// text. Which turn to play is read from the conversation the agent sends back (the number of
// tool calls already in it), so a retried or side request never skips a turn, and the agent's
// tool results arrive in the next request, where a test reads them. Every request is recorded
// whole (method, path, headers with the credentials as they arrived, parsed body) as one JSON
// line in STANDIN_RECORD.
//
// Environment:
//   STANDIN_SCRIPT   a JSON file: { "anthropic": [turn…], "openai": [turn…], "gemini": [turn…] }
//                    or { "turns": [turn…] } for every provider. A turn is one of
//                      { "shell": "command" }
//                      { "tool": "name-or-suffix", "args": { … } }
//                      { "text": "final answer" }
//                    Past the last turn the answer is the text "done".
//   STANDIN_RECORD   the JSONL file every request is appended to (default /tmp/model-requests.jsonl)
//   STANDIN_CERTS    a JSON file { "<hostname>": { "cert": PEM, "key": PEM }, … }: serve HTTPS
//                    on STANDIN_HTTPS_PORT (default 443), a certificate per name by SNI
//   STANDIN_HTTP_PORT  plain HTTP port (default 80; "0" or "" for none)
//   STANDIN_BIND     address to listen on (default all)
//
// How each real binary is pointed here (all three proved headless against this file):
//   Claude Code 2.1:  ANTHROPIC_BASE_URL=<origin> ANTHROPIC_API_KEY=<key>
//                     CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
//                     claude -p PROMPT --dangerously-skip-permissions --output-format json
//                     The key arrives as x-api-key. Tool "Bash" { command }. With MCP servers
//                     set ENABLE_TOOL_SEARCH=false: otherwise their tools are deferred behind
//                     ToolSearch, which this stand-in does not play.
//   Codex 0.171:      ~/.codex/config.toml:
//                       model = "gpt-5-codex"
//                       model_provider = "standin"
//                       [model_providers.standin]
//                       name = "standin"
//                       base_url = "<origin>/v1"
//                       env_key = "OPENAI_API_KEY"
//                       wire_api = "responses"
//                     OPENAI_API_KEY=<key> codex exec --skip-git-repo-check
//                       --dangerously-bypass-approvals-and-sandbox PROMPT </dev/null
//                     Without supports_websockets = false in the provider, Codex speaks
//                     the Responses API over a WebSocket (see upgrade() below).
//                     The key arrives as "authorization: Bearer". Tool "exec_command" { cmd }.
//                     MCP tools come inside a "namespace" tool (e.g. "mcp__supervise") and
//                     are called as a function_call with that namespace beside the bare name.
//                     Interactive (the TUI), tools come in the input ("additional_tools"),
//                     the shell nested in the code-mode tool "exec": it is called as a
//                     custom_tool_call of JavaScript that awaits tools.exec_command.
//   Gemini CLI 0.61:  ~/.gemini/settings.json:
//                       {"security":{"auth":{"selectedType":"gemini-api-key"}},
//                        "privacy":{"usageStatisticsEnabled":false},"telemetry":{"enabled":false}}
//                     GOOGLE_GEMINI_BASE_URL=<origin> GEMINI_API_KEY=<key>
//                     GEMINI_CLI_TRUST_WORKSPACE=true gemini -p PROMPT --yolo </dev/null
//                     Without selectedType the base URL alone selects a "gateway" auth that
//                     headless mode rejects ("Invalid auth method selected"); an untrusted
//                     folder turns --yolo back into asking. The key arrives as x-goog-api-key.
//                     Tool "run_shell_command" { command }; before each turn the CLI asks a
//                     flash model for a JSON complexity score, answered from its schema.
import { appendFileSync, readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createSecureContext } from "node:tls";
import { acceptWebSocket, readWsMessages, wsFrame } from "./websocket-server.mjs";

const RECORD = process.env.STANDIN_RECORD || "/tmp/model-requests.jsonl";

function loadScript() {
  const file = process.env.STANDIN_SCRIPT;
  if (!file) return {};
  return JSON.parse(readFileSync(file, "utf8"));
}

/** The turns for one provider; read on every request so a test may rewrite the file. */
function turnsFor(provider) {
  const script = loadScript();
  const turns = script[provider] ?? script.turns ?? [];
  if (!Array.isArray(turns)) throw new Error(`script: ${provider} is not a list of turns`);
  return turns;
}

let sequence = 0;
function nextId(prefix) {
  sequence += 1;
  return `${prefix}_standin${String(sequence).padStart(6, "0")}`;
}

function record(entry) {
  appendFileSync(RECORD, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
}

// ---------------------------------------------------------------------------------------
// Choosing the tool a turn calls, from the tools the agent declared in its request.

/** Names of the shell tool per provider, most likely first. */
const SHELL_TOOLS = {
  anthropic: ["Bash"],
  openai: ["exec_command", "shell_command", "shell", "local_shell", "exec/exec_command"],
  gemini: ["run_shell_command"],
};

/** The declared tool a turn means, or an Error naming what was declared. */
function resolveTool(provider, turn, declared) {
  if (turn.shell !== undefined) {
    const name = SHELL_TOOLS[provider].find((n) => declared.includes(n));
    if (name === undefined) {
      return new Error(`no shell tool among the declared tools: ${declared.join(", ")}`);
    }
    return { name, args: shellArgs(name, turn.shell) };
  }
  const wanted = turn.tool;
  const name =
    declared.find((n) => n === wanted) ??
    declared.find((n) => [".", "__", "_"].some((sep) => n.endsWith(`${sep}${wanted}`)));
  if (name === undefined) {
    return new Error(`no declared tool named ${wanted}: ${declared.join(", ")}`);
  }
  return { name, args: turn.args ?? {} };
}

function shellArgs(name, command) {
  switch (name) {
    case "Bash":
      return { command, description: "Run a command" };
    case "exec_command":
      // Its longest wait (default 10 s): a push on a loaded machine takes longer.
      return { cmd: command, yield_time_ms: 30000 };
    case "shell_command":
      return { command };
    case "shell":
    case "local_shell":
      return { command: ["bash", "-lc", command] };
    case "exec/exec_command":
      return { code: codeModeShell(command) };
    default:
      return { command };
  }
}

// ---------------------------------------------------------------------------------------
// Anthropic Messages

function anthropicDeclared(body) {
  return (body.tools ?? []).map((t) => t.name).filter(Boolean);
}

/** Tool calls this stand-in already made in the conversation: the index of the next turn. */
function anthropicTurnIndex(body) {
  let n = 0;
  for (const m of body.messages ?? []) {
    if (m.role !== "assistant" || !Array.isArray(m.content)) continue;
    if (m.content.some((c) => c.type === "tool_use")) n += 1;
  }
  return n;
}

/** The scripted turn at `index` (text "done" past the script): text, a tool call, or an error. */
function playTurn(provider, index, declared) {
  const turn = turnsFor(provider)[index] ?? { text: "done" };
  if (turn.text !== undefined) return { kind: "text", text: turn.text, turnIndex: index };
  const tool = resolveTool(provider, turn, declared);
  if (tool instanceof Error) return { kind: "error", message: tool.message, turnIndex: index };
  return { kind: "tool", ...tool, turnIndex: index };
}

function anthropicReply(body) {
  const declared = anthropicDeclared(body);
  // A request without tools is a side request (a title, a summary): plain text, no turn.
  if (declared.length === 0) return { kind: "text", text: "ok", turnIndex: null };
  const index = anthropicTurnIndex(body);
  return playTurn("anthropic", index, declared);
}

function sse(res, events) {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
  });
  for (const [event, data] of events) {
    if (event) res.write(`event: ${event}\n`);
    res.write(`data: ${JSON.stringify(data)}\n\n`);
  }
  res.end();
}

function serveAnthropic(res, body) {
  const reply = anthropicReply(body);
  if (reply.kind === "error") return jsonError(res, 400, reply.message);
  const model = body.model ?? "claude-standin";
  const usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0 };
  const id = nextId("msg");
  const block =
    reply.kind === "tool"
      ? { type: "tool_use", id: nextId("toolu"), name: reply.name, input: reply.args }
      : { type: "text", text: reply.text };
  const stopReason = reply.kind === "tool" ? "tool_use" : "end_turn";
  if (!body.stream) {
    json(res, 200, {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [block],
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    });
    return reply;
  }
  const start = block.type === "tool_use" ? { ...block, input: {} } : { type: "text", text: "" };
  const delta =
    block.type === "tool_use"
      ? { type: "input_json_delta", partial_json: JSON.stringify(block.input) }
      : { type: "text_delta", text: block.text };
  sse(res, [
    [
      "message_start",
      {
        type: "message_start",
        message: {
          id,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 1 },
        },
      },
    ],
    ["content_block_start", { type: "content_block_start", index: 0, content_block: start }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta }],
    ["content_block_stop", { type: "content_block_stop", index: 0 }],
    [
      "message_delta",
      {
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: 5 },
      },
    ],
    ["message_stop", { type: "message_stop" }],
  ]);
  return reply;
}

// ---------------------------------------------------------------------------------------
// OpenAI Responses

/**
 * Declared tool names; a namespace's tools (Codex groups each MCP server's tools in one,
 * e.g. "mcp__supervise") as "<namespace>.<tool>", called with the namespace beside the name.
 */
function openaiDeclared(body) {
  // Interactive Codex 0.171 declares its tools in the input ("additional_tools"): in code
  // mode one JavaScript tool "exec" whose description declares the tools nested in it,
  // listed here as "exec/<tool>".
  const extra = (Array.isArray(body.input) ? body.input : [])
    .filter((i) => i.type === "additional_tools")
    .flatMap((i) => i.tools ?? []);
  return [...(body.tools ?? []), ...extra].flatMap((t) =>
    t.type === "namespace"
      ? (t.tools ?? []).flatMap((c) =>
          c.type === "custom" && c.name === "exec"
            ? [...String(c.description ?? "").matchAll(/declare const tools: \{ (\w+)\(/g)].map(
                (m) => `exec/${m[1]}`,
              )
            : [`${t.name}.${c.name}`],
        )
      : [t.name ?? t.type].filter(Boolean),
  );
}

/** Code mode: JavaScript for "exec" that runs `command` with its nested exec_command. */
function codeModeShell(command) {
  return [
    `const r = await tools.exec_command({ cmd: ${JSON.stringify(command)}, yield_time_ms: 30000 });`,
    `text(typeof r === "string" ? r : r.output);`,
  ].join("\n");
}

const OPENAI_CALL_TYPES = new Set([
  "function_call",
  "custom_tool_call",
  "local_shell_call",
  "tool_search_call",
]);

function openaiTurnIndex(body) {
  const input = Array.isArray(body.input) ? body.input : [];
  return input.filter((i) => OPENAI_CALL_TYPES.has(i.type)).length;
}

function openaiReply(body) {
  const declared = openaiDeclared(body);
  if (declared.length === 0) return { kind: "text", text: "ok", turnIndex: null };
  // In code mode a side request (a thread's title) has tools, but no shell among them.
  const codeMode = (body.tools ?? []).length === 0;
  if (codeMode && !declared.includes("exec/exec_command")) {
    return { kind: "text", text: "ok", turnIndex: null };
  }
  const index = openaiTurnIndex(body);
  return playTurn("openai", index, declared);
}

function serveOpenai(res, body) {
  const played = openaiEvents(body);
  if (played.reply.kind === "error") return jsonError(res, 400, played.reply.message);
  if (body.stream === false) {
    json(res, 200, played.final);
    return played.reply;
  }
  sse(res, played.events);
  return played.reply;
}

/** One Responses API turn: its events (as SSE would carry them) and the finished response. */
function openaiEvents(body) {
  const reply = openaiReply(body);
  if (reply.kind === "error") return { reply };
  const responseId = nextId("resp");
  const item =
    reply.kind === "tool" && reply.name === "exec/exec_command"
      ? {
          type: "custom_tool_call",
          id: nextId("ctc"),
          call_id: nextId("call"),
          name: "exec",
          input: reply.args.code,
          status: "completed",
        }
      : reply.kind === "tool"
        ? {
            type: "function_call",
            id: nextId("fc"),
            call_id: nextId("call"),
            ...(reply.name.includes(".")
              ? {
                  namespace: reply.name.slice(0, reply.name.indexOf(".")),
                  name: reply.name.slice(reply.name.indexOf(".") + 1),
                }
              : { name: reply.name }),
            arguments: JSON.stringify(reply.args),
            status: "completed",
          }
        : {
            type: "message",
            id: nextId("msg"),
            role: "assistant",
            status: "completed",
            content: [{ type: "output_text", text: reply.text, annotations: [] }],
          };
  const usage = {
    input_tokens: 10,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 5,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 15,
  };
  const response = (status, output) => ({
    id: responseId,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    model: body.model ?? "gpt-standin",
    status,
    output,
    usage: status === "completed" ? usage : null,
  });
  const events = [
    ["response.created", { type: "response.created", response: response("in_progress", []) }],
    [
      "response.output_item.added",
      {
        type: "response.output_item.added",
        output_index: 0,
        item: { ...item, status: "in_progress" },
      },
    ],
  ];
  if (item.type === "message") {
    events.push([
      "response.output_text.delta",
      {
        type: "response.output_text.delta",
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        delta: reply.text,
      },
    ]);
  }
  events.push(
    ["response.output_item.done", { type: "response.output_item.done", output_index: 0, item }],
    ["response.completed", { type: "response.completed", response: response("completed", [item]) }],
  );
  return { reply, responseId, item, events, final: response("completed", [item]) };
}

// ---------------------------------------------------------------------------------------
// Gemini

function geminiDeclared(body) {
  const names = [];
  for (const t of body.tools ?? []) {
    for (const f of t.functionDeclarations ?? []) if (f.name) names.push(f.name);
  }
  return names;
}

function geminiTurnIndex(body) {
  let n = 0;
  for (const c of body.contents ?? []) {
    if (c.role !== "model" || !Array.isArray(c.parts)) continue;
    if (c.parts.some((p) => p.functionCall)) n += 1;
  }
  return n;
}

/** A side request that wants JSON (the CLI asks who speaks next): the answer it expects. */
function geminiJsonAnswer(body) {
  const config = body.generationConfig ?? {};
  const schema = config.responseJsonSchema ?? config.responseSchema;
  const props = schema?.properties ?? {};
  if ("next_speaker" in props) return { reasoning: "The task is done.", next_speaker: "user" };
  const answer = {};
  for (const [key, value] of Object.entries(props)) {
    const type = String(value.type ?? "string").toLowerCase();
    if (Array.isArray(value.enum) && value.enum.length > 0) answer[key] = value.enum[0];
    else if (type === "boolean") answer[key] = false;
    // A score or a count: the smallest a validator is likely to accept.
    else if (type === "number" || type === "integer") answer[key] = value.minimum ?? 1;
    else answer[key] = "";
  }
  return answer;
}

function geminiReply(body) {
  const declared = geminiDeclared(body);
  if (declared.length === 0) {
    const wantsJson = body.generationConfig?.responseMimeType === "application/json";
    const text = wantsJson ? JSON.stringify(geminiJsonAnswer(body)) : "ok";
    return { kind: "text", text, turnIndex: null };
  }
  const index = geminiTurnIndex(body);
  return playTurn("gemini", index, declared);
}

function serveGemini(res, body, url) {
  const method = url.pathname.split(":").pop();
  if (method === "countTokens") {
    json(res, 200, { totalTokens: 10 });
    return { kind: "count", turnIndex: null };
  }
  const reply = geminiReply(body);
  if (reply.kind === "error") return jsonError(res, 400, reply.message);
  const part =
    reply.kind === "tool"
      ? { functionCall: { name: reply.name, args: reply.args } }
      : { text: reply.text };
  const chunk = {
    candidates: [{ content: { role: "model", parts: [part] }, finishReason: "STOP", index: 0 }],
    usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
    modelVersion: url.pathname.match(/models\/([^:]+)/)?.[1] ?? "gemini-standin",
    responseId: nextId("gem"),
  };
  if (method === "streamGenerateContent") {
    if (url.searchParams.get("alt") === "sse") sse(res, [[null, chunk]]);
    else json(res, 200, [chunk]);
  } else {
    json(res, 200, chunk);
  }
  return reply;
}

// ---------------------------------------------------------------------------------------

function json(res, status, value) {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json" });
  res.end(text);
}

function jsonError(res, status, message) {
  json(res, status, { type: "error", error: { type: "standin_error", message } });
  return { kind: "error", message, turnIndex: null };
}

function providerOf(url) {
  const p = url.pathname;
  if (/\/v1\/messages(\/|$)/.test(p)) return "anthropic";
  if (/\/responses$/.test(p)) return "openai";
  if (/\/models\/[^/]+:(streamGenerateContent|generateContent|countTokens)$/.test(p)) {
    return "gemini";
  }
  return null;
}

function handle(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://standin");
    const provider = providerOf(url);
    let body = null;
    let parseError = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch (e) {
        parseError = String(e);
      }
    }
    const entry = {
      provider,
      method: req.method,
      path: url.pathname,
      query: url.search,
      host: req.headers.host ?? null,
      tls: Boolean(req.socket.encrypted),
      headers: req.headers,
      body: body ?? (raw.length > 0 ? raw : null),
    };
    let outcome;
    try {
      if (parseError !== null) {
        outcome = jsonError(res, 400, `body is not JSON: ${parseError}`);
      } else if (req.method !== "POST" || provider === null) {
        // Anything else (a model list an agent asks for at start-up, a plain page under a
        // non-model host name): a small JSON answer, recorded like the rest.
        json(
          res,
          req.method === "GET" ? 200 : 404,
          url.pathname.endsWith("/models")
            ? { data: [], models: [] }
            : { ok: req.method === "GET", host: req.headers.host ?? null, path: url.pathname },
        );
        outcome = { kind: "other", turnIndex: null };
      } else if (provider === "anthropic") {
        if (url.pathname.endsWith("/count_tokens")) {
          json(res, 200, { input_tokens: 10 });
          outcome = { kind: "count", turnIndex: null };
        } else {
          outcome = serveAnthropic(res, body ?? {});
        }
      } else if (provider === "openai") {
        outcome = serveOpenai(res, body ?? {});
      } else {
        outcome = serveGemini(res, body ?? {}, url);
      }
    } catch (e) {
      outcome = jsonError(res, 500, String(e?.stack ?? e));
    }
    record({ ...entry, reply: outcome });
  });
}

// ---------------------------------------------------------------------------------------
// The Responses API over WebSocket (Codex's default transport): an upgrade on .../responses,
// then each "response.create" text message answered with the same events the SSE stream
// carries, one text message each. A request naming previous_response_id sends only what is
// new: the conversation is rebuilt from what this connection already saw, so turns are
// counted as over HTTP. "generate": false (a warm-up) plays no turn. Each request is
// recorded with transport "websocket" and the headers of the upgrade.

function upgrade(req, socket, head) {
  socket.on("error", () => socket.destroy());
  const url = new URL(req.url ?? "/", "http://standin");
  if (providerOf(url) !== "openai" || req.headers["sec-websocket-key"] === undefined) {
    socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    return;
  }
  acceptWebSocket(req, socket);
  const send = (value) => socket.write(wsFrame(1, Buffer.from(JSON.stringify(value))));
  const onMessage = openaiSocketSession(req, url, send);
  readWsMessages(socket, head, (_opcode, message) => onMessage(message.toString("utf8")));
}

/**
 * The Responses API over a WebSocket, as the agent's program speaks it: each response.create
 * message answered with the events of the next scripted turn (or a warm-up's empty response),
 * the conversation carried by previous_response_id. Returns the handler of each text message.
 */
function openaiSocketSession(req, url, send) {
  /** Each response id this connection answered: the whole conversation up to its end. */
  const conversations = new Map();
  return (text) => {
    let message = null;
    try {
      message = JSON.parse(text);
    } catch {}
    const entry = {
      provider: "openai",
      transport: "websocket",
      method: "WS",
      path: url.pathname,
      query: url.search,
      host: req.headers.host ?? null,
      tls: Boolean(req.socket.encrypted),
      headers: req.headers,
    };
    const fail = (code, why) => {
      send({
        type: "error",
        status: 400,
        error: { type: "invalid_request_error", code, message: why },
      });
      record({
        ...entry,
        body: message ?? text,
        reply: { kind: "error", message: why, turnIndex: null },
      });
    };
    if (message === null || message.type !== "response.create") {
      fail("invalid_message", "expected a response.create message");
      return;
    }
    const { type: _type, previous_response_id: previousId, generate, ...rest } = message;
    const earlier = previousId ? conversations.get(previousId) : [];
    if (earlier === undefined) {
      fail("previous_response_not_found", `unknown previous_response_id ${previousId}`);
      return;
    }
    const body = { ...rest, input: [...earlier, ...(Array.isArray(rest.input) ? rest.input : [])] };
    if (generate === false) {
      const id = nextId("resp");
      const response = (status) => ({ id, object: "response", status, output: [], usage: null });
      send({ type: "response.created", response: response("in_progress") });
      send({ type: "response.completed", response: response("completed") });
      conversations.set(id, body.input);
      record({ ...entry, body, reply: { kind: "warmup", turnIndex: null } });
      return;
    }
    let played;
    try {
      played = openaiEvents(body);
    } catch (e) {
      played = { reply: { kind: "error", message: String(e?.stack ?? e), turnIndex: null } };
    }
    if (played.reply.kind === "error") {
      fail("standin_error", played.reply.message);
      return;
    }
    for (const [, data] of played.events) send(data);
    conversations.set(played.responseId, [...body.input, played.item]);
    record({ ...entry, body, reply: played.reply });
  };
}

const servers = [];
const bind = process.env.STANDIN_BIND || undefined;
const httpPort = process.env.STANDIN_HTTP_PORT ?? "80";
if (httpPort !== "" && httpPort !== "0") {
  servers.push(createHttpServer(handle).listen(Number(httpPort), bind));
}
if (process.env.STANDIN_CERTS) {
  const certs = JSON.parse(readFileSync(process.env.STANDIN_CERTS, "utf8"));
  const contexts = Object.fromEntries(
    Object.entries(certs).map(([host, c]) => [host, createSecureContext(c)]),
  );
  const first = Object.values(certs)[0];
  const options = {
    cert: first.cert,
    key: first.key,
    SNICallback: (name, cb) => cb(null, contexts[name] ?? Object.values(contexts)[0]),
  };
  servers.push(
    createHttpsServer(options, handle).listen(Number(process.env.STANDIN_HTTPS_PORT ?? 443), bind),
  );
}
for (const s of servers) {
  s.on("upgrade", upgrade);
  s.on("listening", () => {
    const a = s.address();
    process.stdout.write(`model stand-in listening on ${a.address}:${a.port}\n`);
  });
}
process.on("SIGTERM", () => process.exit(0));
