// The agent side of the exec protocol (src/agent.js): serve, tool, escalation. In
// process, serve is driven with the host's lines scripted in advance (the protocol is
// request/answer, so tool results can be queued before the call is made); a child
// process checks the real stdio (stdout protected).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Escalate, Session, ToolError, currentSession, escalation, serve, tool, underGate } from '../src/agent.js';

const SDK = dirname(dirname(fileURLToPath(import.meta.url)));
const STATE = {
  memory_snapshot: [
    { key: 'customer.email', value: '[EMAIL_1]' },
    { key: 'customer.email', value: 'second' },
    { key: 'account.id', value: 'A-1' },
  ],
  tool_registry: [{ id: 'lookup_account', version: '1.4.0' }],
  prompt_version: 'support-v1',
};
const real = [];
const lookupAccount = tool(
  async function lookup_account({ email, account_id }) {
    real.push(['lookup_account', email, account_id]);
    return { account_id: 'REAL' };
  },
  { version: '1.4.0' },
);
const cancel = tool(({ account_id }) => real.push(['cancel', account_id]) && { ok: true }, { name: 'cancel_subscription' });
const handoff = escalation(async function handoff({ reason }) {
  real.push(['handoff', reason]);
  return 'ticket-1';
});

const HELLO = { type: 'hello', protocol: 1 };
const start = (session = 's1', state = STATE) => ({ type: 'session.start', session, scenario: 'sc', channel: 'voice', state });
const say = (text, session = 's1') => ({ type: 'customer.message', session, text });
const result = (call_id, content, is_error = false, session = 's1') => ({ type: 'tool.result', session, call_id, content, is_error });
const end = (session = 's1') => ({ type: 'session.end', session });

async function run(respond, messages, options = {}) {
  const out = [];
  const err = [];
  const input = Readable.from(messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m)) + '\n'));
  const code = await serve(respond, { ...options, input, output: (line) => out.push(line), log: (t) => err.push(t) });
  return { code, sent: out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)), err: err.join('') };
}

test('a whole session with a tool call; the real tool is not run', async () => {
  real.length = 0;
  let seen;
  const { code, sent, err } = await run(
    async (turns, session) => {
      seen = { turns: [...turns], session, current: currentSession() === session, gate: underGate() };
      const account = await lookupAccount({ email: session.memory['customer.email'], account_id: undefined });
      return `status: ${account.subscription_status}`;
    },
    [HELLO, start(), say('cancel please'), result('call-1', { subscription_status: 'none' }), end()],
    { agent: 'support-agent', version: 'v7' },
  );
  assert.equal(code, 0, err);
  assert.deepEqual(sent, [
    { type: 'ready', protocol: 1, agent: 'support-agent', version: 'v7', concurrent_sessions: false },
    { type: 'tool.call', session: 's1', call_id: 'call-1', name: 'lookup_account', arguments: { email: '[EMAIL_1]' }, version: '1.4.0' },
    { type: 'agent.message', session: 's1', text: 'status: none' },
    { type: 'session.ended', session: 's1' },
  ]);
  assert.deepEqual(real, []);
  assert.deepEqual(seen.turns, [{ role: 'customer', text: 'cancel please' }]);
  assert.equal(seen.current, true);
  assert.equal(seen.gate, true);
  assert.deepEqual(seen.session.memory, { 'customer.email': '[EMAIL_1]', 'account.id': 'A-1' });
  assert.deepEqual(seen.session.state, STATE);
  assert.deepEqual(seen.session.toolVersions, { lookup_account: '1.4.0' });
  assert.equal(currentSession(), null);
  assert.equal(underGate(), false);
});

test('call ids count per session; data lives for one session', async () => {
  const respond = async (turns, session) => {
    session.data.n = (session.data.n || 0) + 1;
    await lookupAccount({ account_id: 'A-1' });
    await cancel({ account_id: 'A-1' });
    return `turn ${session.data.n}`;
  };
  const { code, sent, err } = await run(respond, [
    HELLO, start('a'), say('x', 'a'), result('call-1', {}, false, 'a'), result('call-2', {}, false, 'a'),
    say('y', 'a'), result('call-3', {}, false, 'a'), result('call-4', {}, false, 'a'), end('a'),
    start('b'), say('x', 'b'), result('call-1', {}, false, 'b'), result('call-2', {}, false, 'b'), end('b'),
  ]);
  assert.equal(code, 0, err);
  assert.deepEqual(sent.filter((m) => m.type === 'tool.call').map((m) => `${m.session}/${m.call_id}/${m.name}/${m.version ?? '-'}`), [
    'a/call-1/lookup_account/1.4.0', 'a/call-2/cancel_subscription/-', 'a/call-3/lookup_account/1.4.0', 'a/call-4/cancel_subscription/-',
    'b/call-1/lookup_account/1.4.0', 'b/call-2/cancel_subscription/-',
  ]);
  assert.deepEqual(sent.filter((m) => m.type === 'agent.message').map((m) => m.text), ['turn 1', 'turn 2', 'turn 1']);
});

test('concurrent tool calls take turns', async () => {
  const { code, sent, err } = await run(
    async () => JSON.stringify(await Promise.all([lookupAccount({ email: 'a' }), lookupAccount({ email: 'b' })])),
    [HELLO, start(), say('x'), result('call-1', 'A'), result('call-2', 'B'), end()],
  );
  assert.equal(code, 0, err);
  assert.equal(sent.at(-2).text, '["A","B"]');
});

test('an error result rejects with ToolError', async () => {
  const { code, sent, err } = await run(
    async () => {
      try {
        await lookupAccount({ email: 'x' });
        return 'no error?';
      } catch (e) {
        return `${e instanceof ToolError} ${e.tool} ${JSON.stringify(e.content)}`;
      }
    },
    [HELLO, start(), say('x'), result('call-1', { error: 'no recorded fixture' }, true), end()],
  );
  assert.equal(code, 0, err);
  assert.equal(sent[2].text, 'true lookup_account {"error":"no recorded fixture"}');
});

test('the gate ending the session mid-call ends the turn even if the agent swallows the error', async () => {
  const { code, sent, err } = await run(
    async () => {
      try {
        await lookupAccount({ email: 'x' });
      } catch {
        // a framework turning every tool error into a message for the model
      }
      try {
        await lookupAccount({ email: 'again' }); // not sent: the session is over
      } catch {
        // swallowed again
      }
      return 'never sent';
    },
    [HELLO, start(), say('x'), end(), start('s2')],
  );
  assert.equal(code, 0, err);
  assert.deepEqual(sent.slice(1).map((m) => `${m.type}/${m.session}`), ['tool.call/s1', 'session.ended/s1']);
});

test('escalate, returned or through the wrapped hand-off', async () => {
  real.length = 0;
  let r = await run(() => new Escalate('customer asked for a human'), [HELLO, start(), say('human'), end()]);
  assert.deepEqual(r.sent[1], { type: 'escalate', session: 's1', reason: 'customer asked for a human' });
  r = await run(async () => `handed over (${await handoff({ reason: 'refund needs approval' })})`, [HELLO, start(), say('refund'), end()]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.sent[1], { type: 'escalate', session: 's1', reason: 'refund needs approval' });
  assert.deepEqual(real, []);
  assert.equal(await handoff({ reason: 'outside' }), 'ticket-1');
  assert.deepEqual(real, [['handoff', 'outside']]);
});

test('outside the gate the wrapped tools run for real', async () => {
  real.length = 0;
  assert.deepEqual(await lookupAccount({ email: 'e' }), { account_id: 'REAL' });
  const s = new Session('prod', { state: { memory_snapshot: [{ key: 'customer.email', value: 'e' }] } });
  assert.deepEqual(s.memory, { 'customer.email': 'e' });
  assert.deepEqual(real, [['lookup_account', 'e', undefined]]);
});

test('errors: respond throwing exits 1 with the stack, protocol errors exit 2', async () => {
  let r = await run(() => {
    throw new Error('the model is down');
  }, [HELLO, start(), say('x')], { agent: 'my-agent' });
  assert.equal(r.code, 1);
  assert.match(r.err, /my-agent: respond failed:\nError: the model is down/);
  r = await run(() => undefined, [HELLO, start(), say('x')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /respond returned undefined: it must return the reply text/);
  r = await run(() => lookupAccount(['positional']), [HELLO, start(), say('x')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /tool lookup_account: takes one object of named arguments \(got an array\)/);
  const cases = [
    [[{ type: 'hello', protocol: 2 }], 'unsupported protocol 2'],
    [[HELLO, { type: 'bogus' }], 'unknown message type "bogus"'],
    [[HELLO, start(), start('s2')], "started while 's1' is running"],
    [[HELLO, say('x')], "customer.message for unknown session 's1'"],
    [[HELLO, start(), result('call-1', {})], 'no tool call is pending'],
    [[HELLO, start(), say('x'), result('call-9', {})], "expected session 's1' call 'call-1'"],
    [[HELLO, start(), say('x'), say('y')], "expected tool.result for call 'call-1', got 'customer.message'"],
    [[HELLO, 'not json'], 'not JSON'],
  ];
  for (const [messages, expected] of cases) {
    r = await run(async () => (await lookupAccount({ email: 'x' })) && 'ok', messages);
    assert.equal(r.code, 2, expected);
    assert.ok(r.err.includes('protocol error: ') && r.err.includes(expected), `${expected}: ${r.err}`);
  }
  r = await run(() => lookupAccount({ email: 'x' }), [HELLO, start(), say('x')]);
  assert.equal(r.code, 0, 'EOF while a call waits: the gate is gone, a clean exit');
});

test('real stdio: stray output goes to stderr, never into the protocol', () => {
  const program = `
    import { serve, tool } from ${JSON.stringify(join(SDK, 'src', 'agent.js'))};
    const lookup = tool(async function lookup() { throw new Error('not under the gate'); });
    console.log('a banner before serve');
    process.exit(await serve(async () => {
      console.log('a stray console.log');
      process.stdout.write('a stray stdout write\\n');
      return 'found ' + (await lookup({ email: 'e' })).id;
    }, { agent: 'stdio-agent', version: '1' }));
  `;
  const host = [HELLO, start(), say('x'), result('call-1', { id: 'A-1' }), end()].map((m) => JSON.stringify(m) + '\n').join('');
  const p = spawnSync(process.execPath, ['--input-type=module', '-e', program], { input: host, encoding: 'utf8', timeout: 30000 });
  assert.equal(p.status, 0, p.stderr);
  const lines = p.stdout.split('\n').filter(Boolean);
  assert.equal(lines[0], 'a banner before serve');
  const sent = lines.slice(1).map((l) => JSON.parse(l));
  assert.deepEqual(sent.map((m) => m.type), ['ready', 'tool.call', 'agent.message', 'session.ended']);
  assert.equal(sent[2].text, 'found A-1');
  assert.match(p.stderr, /a stray console\.log/);
  assert.match(p.stderr, /a stray stdout write/);
});
