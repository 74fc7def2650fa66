// Put an existing agent under `ratchet gate`: the agent side of the exec protocol
// (docs/agent-protocol.md), the JavaScript twin of the Python SDK's ratchet_sdk.agent
// (docs/agents.md). Node.js standard library only.
//
//   import { serve, tool, escalation, Escalate, ToolError } from '@ratchet-dev/sdk/agent';
//
//   const lookupAccount = tool(async function lookup_account({ email, account_id }) {
//     return billing.lookup({ email, account_id });          // runs only outside the gate
//   }, { version: '1.4.0' });
//
//   async function respond(turns, session) {                  // the customer's latest line: turns.at(-1).text
//     const account = await lookupAccount({ email: session.memory['customer.email'] });
//     ...
//     return 'Your subscription has been cancelled.';          // or new Escalate(reason)
//   }
//
//   process.exit(await serve(respond, { agent: 'support-agent', version: 'v2' }));
//
// * serve(respond) runs the protocol loop: hello/ready, session.start with its state
//   snapshot, customer lines to `respond(turns, session)`, its reply (a string) as
//   agent.message or `new Escalate(reason)` as escalate, session.end, and resolves 0
//   when the gate closes stdin (2 on a protocol error, 1 when `respond` threw: the
//   stack goes to stderr and the scenario's verdict is `error`).
// * tool(fn, {name, version}) wraps a tool function taking ONE object of named
//   arguments (what frameworks pass: the model's JSON arguments). While serve() is
//   handling a turn, a call is not executed: it goes to ratchet as tool.call (name:
//   `name`, else fn.name; the arguments without `undefined`/`null` members) and resolves
//   to the result's content, or rejects with ToolError when the result is an error.
//   Anywhere else the real function runs. Always returns a Promise.
// * escalation(fn, {reason}) wraps the hand-off function: under the gate it escalates
//   the session (argument `reason`) instead of running.
// * The session state: `session.state` is the snapshot as sent, `session.memory` its
//   memory entries as an object (first entry of a key wins), `session.data` yours for
//   the session, `session.turns` the transcript so far; currentSession() returns it.
// While serve() runs, console.log/info/debug and process.stdout.write go to stderr so
// they cannot break a protocol line (protocol lines are written to fd 1 directly).

import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const PROTOCOL = 1;

/** Return `new Escalate(reason)` from respond to hand the conversation to a human. */
export class Escalate {
  constructor(reason = '') {
    this.reason = String(reason);
  }
}

/** A tool call ratchet answered with an error result (`is_error: true`). */
export class ToolError extends Error {
  constructor(tool, content) {
    super(`${tool}: ${typeof content === 'string' ? content : JSON.stringify(content)}`);
    this.name = 'ToolError';
    this.tool = tool;
    this.content = content;
  }
}

/** The gate sent something this side of the protocol cannot accept. */
export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** The gate ended the session while a tool call was waiting: unwinds respond. */
export class SessionEnded extends Error {
  constructor(session) {
    super(`the gate ended session ${session}`);
    this.name = 'SessionEnded';
    this.session = session;
  }
}

class HostGone extends Error {}

/** One scenario's session, as started by the gate. */
export class Session {
  constructor(id, { scenario = '', channel = '', state = {} } = {}) {
    this.id = id;
    this.scenario = scenario;
    this.channel = channel;
    this.state = state && typeof state === 'object' && !Array.isArray(state) ? state : {};
    this.memory = {};
    for (const entry of this.state.memory_snapshot || []) {
      if (entry && typeof entry === 'object' && 'key' in entry && !(entry.key in this.memory)) this.memory[entry.key] = entry.value ?? null;
    }
    this.data = {};
    this.turns = [];
    this.escalated = null;
    this.calls = 0;
    this.endedByGate = false;
  }

  /** The snapshot's tool registry, tool id -> version. */
  get toolVersions() {
    return Object.fromEntries((this.state.tool_registry || []).filter((t) => t && t.id).map((t) => [t.id, t.version ?? '']));
  }

  /** Hand the conversation to a human once respond returns. */
  escalate(reason = '') {
    if (this.escalated === null) this.escalated = String(reason);
  }

  nextCallId() {
    this.calls += 1;
    return `call-${this.calls}`;
  }
}

/** Reads JSON-lines messages one at a time. */
class Channel {
  constructor(input, output) {
    this.output = output;
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    this.lock = Promise.resolve();
    const rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
    this.rl = rl;
    rl.on('line', (line) => this.push(line));
    rl.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  push(line) {
    if (!line.trim()) return;
    const w = this.waiters.shift();
    if (w) w(line);
    else this.queue.push(line);
  }

  /** The next message; null at EOF. */
  async receive() {
    const line = this.queue.length ? this.queue.shift() : this.closed ? null : await new Promise((r) => this.waiters.push(r));
    if (line === null) return null;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      throw new ProtocolError(`not JSON (${e.message}): ${line.trim().slice(0, 200)}`);
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) throw new ProtocolError(`not a JSON object: ${line.trim().slice(0, 200)}`);
    return msg;
  }

  send(message) {
    this.output(JSON.stringify(message) + '\n');
  }

  close() {
    this.rl.close();
  }

  /** Runs `f` when the previous exclusive call is done (tool calls take turns). */
  exclusive(f) {
    const run = this.lock.then(f, f);
    this.lock = run.catch(() => {});
    return run;
  }
}

let active = null; // {channel, session} while serve() handles a turn

/** The session serve() is handling a turn of, or null. */
export function currentSession() {
  return active ? active.session : null;
}

/** True while serve() handles a turn: wrapped tools go to ratchet. */
export function underGate() {
  return active !== null;
}

function jsonArguments(name, args) {
  if (args === undefined || args === null) return {};
  if (typeof args !== 'object' || Array.isArray(args)) {
    throw new TypeError(`tool ${name}: takes one object of named arguments (got ${Array.isArray(args) ? 'an array' : typeof args})`);
  }
  const out = {};
  for (const [k, v] of Object.entries(args)) if (v !== undefined && v !== null) out[k] = v;
  JSON.stringify(out); // throws on cycles/BigInt: not JSON
  return out;
}

async function callThroughGate({ channel, session }, name, version, args) {
  return channel.exclusive(async () => {
    if (session.endedByGate) throw new SessionEnded(session.id);
    const callId = session.nextCallId();
    session.turns.push({ role: 'agent', text: '', tool_calls: [{ id: callId, name, arguments: args }] });
    const msg = { type: 'tool.call', session: session.id, call_id: callId, name, arguments: args };
    if (version) msg.version = version;
    channel.send(msg);
    const reply = await channel.receive();
    if (reply === null) throw new HostGone();
    if (reply.type === 'session.end' && reply.session === session.id) {
      session.endedByGate = true; // even if a framework catches the error, the turn is over
      throw new SessionEnded(session.id);
    }
    if (reply.type !== 'tool.result') throw new ProtocolError(`expected tool.result for call '${callId}', got '${reply.type}'`);
    if (reply.session !== session.id || reply.call_id !== callId) {
      throw new ProtocolError(`tool.result for session '${reply.session}' call '${reply.call_id}', expected session '${session.id}' call '${callId}'`);
    }
    const content = reply.content ?? null;
    const isError = Boolean(reply.is_error);
    session.turns.push({ role: 'tool', tool_result: { call_id: callId, name, content, is_error: isError } });
    if (isError) throw new ToolError(name, content);
    return content;
  });
}

/**
 * Wraps a tool function: answered by ratchet under the gate, run for real otherwise.
 * `fn` takes one object of named arguments; the wrapper always returns a Promise.
 */
export function tool(fn, { name, version } = {}) {
  const toolName = name || fn.name;
  if (!toolName) throw new TypeError('tool: an anonymous function needs {name}');
  const wrapped = async function (args, ...rest) {
    if (active === null) return fn.call(this, args, ...rest);
    return callThroughGate(active, toolName, version, jsonArguments(toolName, args));
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name || toolName });
  wrapped.ratchetTool = { name: toolName, version: version ?? null };
  return wrapped;
}

/** Wraps the hand-off-to-a-human function: under the gate it escalates instead. */
export function escalation(fn, { reason = 'reason', result = 'The conversation has been handed to a human agent.' } = {}) {
  const wrapped = async function (args, ...rest) {
    if (active === null) return fn.call(this, args, ...rest);
    active.session.escalate(args && typeof args === 'object' ? args[reason] ?? '' : args ?? '');
    return result;
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  wrapped.ratchetEscalation = true;
  return wrapped;
}

function protectStdout() {
  const write = (text) => writeSync(1, text);
  const toStderr = (...args) => console.error(...args);
  const saved = { log: console.log, info: console.info, debug: console.debug, write: process.stdout.write };
  console.log = console.info = console.debug = toStderr;
  process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
  return {
    write,
    restore() {
      Object.assign(console, { log: saved.log, info: saved.info, debug: saved.debug });
      process.stdout.write = saved.write;
    },
  };
}

/**
 * Serves `respond(turns, session)` to ratchet gate until the gate closes stdin.
 * Resolves the exit status: 0 clean end, 2 protocol error, 1 respond threw.
 * `input`/`output` (a readable stream, a function writing a string) are for tests.
 */
export async function serve(respond, { agent = 'agent', version = '', input, output, log = (t) => process.stderr.write(t) } = {}) {
  const protect = output ? null : protectStdout();
  const channel = new Channel(input || process.stdin, output || protect.write);
  const say = (text) => log(`${agent}: ${text}\n`);
  let session = null;

  const answer = async (s) => {
    active = { channel, session: s };
    let reply;
    try {
      reply = await respond(s.turns, s);
    } finally {
      active = null;
      if (s.endedByGate) throw new SessionEnded(s.id); // eslint-disable-line no-unsafe-finally
    }
    if (reply instanceof Escalate) s.escalate(reply.reason);
    if (s.escalated !== null) {
      channel.send({ type: 'escalate', session: s.id, reason: s.escalated });
      return;
    }
    if (typeof reply !== 'string') {
      throw new TypeError(`respond returned ${reply === null ? 'null' : typeof reply}: it must return the reply text (a string) or new Escalate(reason)`);
    }
    s.turns.push({ role: 'agent', text: reply });
    channel.send({ type: 'agent.message', session: s.id, text: reply });
  };

  try {
    for (;;) {
      const msg = await channel.receive();
      if (msg === null) return 0;
      switch (msg.type) {
        case 'hello':
          if (msg.protocol !== PROTOCOL) throw new ProtocolError(`unsupported protocol ${JSON.stringify(msg.protocol)} (this agent speaks ${PROTOCOL})`);
          channel.send({ type: 'ready', protocol: PROTOCOL, agent, version, concurrent_sessions: false });
          break;
        case 'session.start':
          if (session !== null) {
            throw new ProtocolError(`session '${msg.session}' started while '${session.id}' is running (this agent serves one session at a time: concurrent_sessions false)`);
          }
          if (typeof msg.session !== 'string') throw new ProtocolError('session.start without a session id');
          session = new Session(msg.session, { scenario: msg.scenario || '', channel: msg.channel || '', state: msg.state });
          say(`[${session.id}] start ${session.scenario} (${session.channel})`);
          break;
        case 'customer.message':
          if (session === null || msg.session !== session.id) throw new ProtocolError(`customer.message for unknown session '${msg.session}'`);
          if (session.escalated !== null) throw new ProtocolError(`customer.message for session '${session.id}' after it escalated`);
          if (typeof msg.text !== 'string') throw new ProtocolError('customer.message without text');
          session.turns.push({ role: 'customer', text: msg.text });
          try {
            await answer(session);
          } catch (e) {
            if (!(e instanceof SessionEnded)) throw e;
            say(`[${session.id}] ended by the gate during the turn`);
            channel.send({ type: 'session.ended', session: session.id });
            session = null;
          }
          break;
        case 'session.end':
          if (session !== null && msg.session === session.id) session = null;
          say(`[${msg.session}] end`);
          channel.send({ type: 'session.ended', session: msg.session });
          break;
        case 'tool.result':
          throw new ProtocolError(`tool.result for call '${msg.call_id}': no tool call is pending`);
        default:
          throw new ProtocolError(`unknown message type ${JSON.stringify(msg.type)}`);
      }
    }
  } catch (e) {
    if (e instanceof HostGone) return 0;
    if (e instanceof ProtocolError) {
      say(`protocol error: ${e.message}`);
      return 2;
    }
    say(`respond failed:\n${e && e.stack ? e.stack : e}`);
    return 1;
  } finally {
    channel.close();
    if (protect) protect.restore();
  }
}
