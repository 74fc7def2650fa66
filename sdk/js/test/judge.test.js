// src/judge.js natively: the request builder, the native test judge, the transcript
// rendering (checked against what the Rust SDK rendered into the example suite's
// committed recordings: floats stay floats), yes/no answers and the errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import { F64, canonicalJson, f64, parseJsonExact } from '../src/canonical.js';
import { PluginError } from '../src/errors.js';
import { JudgeError, Request, Response, YesNo, complete, completeJson, parseYesNo, renderTranscript, setNativeJudge, yesNoSchema } from '../src/judge.js';
import { Conversation } from '../src/model.js';
import { trim } from '../src/text.js';

const recordings = new URL('../../../recordings/model/', import.meta.url);
const cases = JSON.parse(readFileSync(new URL('../../conformance/cases.json', import.meta.url), 'utf8'));

/**
 * The example agent's transcript on scenarios/cancellation-policy-confirmed.toml, as JSON
 * text (sdk/conformance/judge-transcript.json, shared by every language's judge tests).
 */
export function exampleTranscriptJson(agentReply) {
  return readFileSync(new URL('../../conformance/judge-transcript.json', import.meta.url), 'utf8').replace('"{AGENT_REPLY}"', JSON.stringify(agentReply));
}

const REPLIES = {
  a1730988d57665d029c1c8044f209343bc8c1f5c9063fc852471a0abb16aeca5:
    "Per our cancellation policy, your plan stays active until the end of the current billing period and you won't be charged again. Your subscription has been cancelled. Is there anything else I can help you with?",
  adecf4dcd85a5596ad4fc4b3f7740f53dab0311727cb28e39a17cafa86bbd461: 'Your subscription has been cancelled. Is there anything else I can help you with?',
};

const conv = (turns) => Conversation.fromJSONValue({ id: 'c1', channel: 'chat', turns });

test("the same text as the Rust SDK's unit test", () => {
  const c = conv([
    { role: 'customer', text: 'Cancel\nplease' },
    { role: 'agent', tool_calls: [{ id: '1', name: 'lookup', arguments: { b: 1, a: 2 } }] },
    { role: 'tool', tool_result: { call_id: '1', name: 'lookup', content: { ok: true } } },
    { role: 'agent', text: 'Done.' },
  ]);
  assert.equal(renderTranscript(c), '[0] CUSTOMER: Cancel please\n[1] AGENT calls lookup {"a":2,"b":1}\n[2] TOOL lookup returned {"ok":true}\n[3] AGENT: Done.\n');
});

test('the same text as the Rust plugin sent for the committed recordings (49.0 stays 49.0)', () => {
  for (const [key, reply] of Object.entries(REPLIES)) {
    const rec = JSON.parse(readFileSync(new URL(`${key}.json`, recordings), 'utf8'));
    const rendered = rec.request.messages[1].content.split('\nTRANSCRIPT:\n')[1];
    assert.equal(renderTranscript(Conversation.fromJson(exampleTranscriptJson(reply))), rendered, key);
    assert.ok(rendered.includes('"last_charge_amount":49.0,'));
    // From plain data JavaScript cannot know 49 was 49.0: mark it with f64().
    const plain = JSON.parse(exampleTranscriptJson(reply));
    assert.notEqual(renderTranscript(Conversation.fromJSONValue(plain)), rendered);
    plain.turns[2].tool_result.content.last_charge_amount = f64(49);
    assert.equal(renderTranscript(Conversation.fromJSONValue(plain)), rendered);
  }
  // A field replaced after reading is rendered from its new value.
  const c = Conversation.fromJson(exampleTranscriptJson('x'));
  c.turns[2].toolResult.content = { last_charge_amount: 50 };
  assert.ok(renderTranscript(c).includes('[2] TOOL lookup_account returned {"last_charge_amount":50}\n'));
});

test('whitespace, newlines, errors and empty turns', () => {
  const c = conv([
    { role: 'customer', text: '\u3000 Hi\n\nthere \u0085' },
    { role: 'agent', text: '\u001c' },
    { role: 'agent', text: ' \t\u2028' },
    { role: 'agent', text: 'Let me check.\r\n', tool_calls: [{ id: 'k', name: 'refund', arguments: { amount: 10.5, note: 'caf\u00e9 "x"\n' } }, { id: 'k2', name: 'noop' }] },
    { role: 'tool', tool_result: { call_id: 'k', name: 'refund', content: { error: 'denied' }, is_error: true } },
    { role: 'system', text: '' },
  ]);
  assert.equal(
    renderTranscript(c),
    [
      '[0] CUSTOMER: Hi  there\n',
      '[1] AGENT: \u001c\n',
      '[2] AGENT: (empty)\n',
      '[3] AGENT: Let me check.\n',
      '[3] AGENT calls refund {"amount":10.5,"note":"caf\u00e9 \\"x\\"\\n"}\n',
      '[3] AGENT calls noop null\n',
      '[4] TOOL refund failed with {"error":"denied"}\n',
      '[5] SYSTEM: (empty)\n',
    ].join(''),
  );
  assert.equal(trim('\ufeffx\u200b'), '\ufeffx\u200b'); // String.prototype.trim would strip U+FEFF
  assert.equal(trim('\u0085x\u00a0'), 'x');
});

test("parseJsonExact reads numbers as serde_json does: Rust's canonical text comes back unchanged", () => {
  for (const c of cases.json) assert.equal(canonicalJson(parseJsonExact(c.compact)), c.compact);
  for (const c of cases.floats) if (c.json !== 'null') assert.equal(canonicalJson(parseJsonExact(c.json)), c.json, c.bits);
  const v = parseJsonExact('{"b":1.0,"a":[1,2.5e3,-0,18446744073709551615,18446744073709551616,9007199254740993],"__proto__":{"x":"\\u00e9"}}');
  assert.equal(canonicalJson(v), '{"__proto__":{"x":"é"},"a":[1,2500.0,-0.0,18446744073709551615,1.8446744073709552e+19,9007199254740993],"b":1.0}');
  assert.ok(v.b instanceof F64 && Object.getPrototypeOf(v) === Object.prototype);
});

test('the request builder and the schema', () => {
  const r = new Request().system('sys').user('q').assistant('a').withModel('m1').withMaxTokens(300).schema(yesNoSchema());
  assert.deepEqual(r.messages.map((m) => [m.role, m.content]), [['system', 'sys'], ['user', 'q'], ['assistant', 'a']]);
  assert.deepEqual([r.model, r.maxTokens, r.temperature], ['m1', 300, 0]);
  assert.throws(() => new Request().user(3), TypeError);
  assert.equal(
    canonicalJson(yesNoSchema()),
    '{"additionalProperties":false,"properties":{"answer":{"enum":["yes","no"],"type":"string"},"reason":{"type":"string"},"turn":{"type":["integer","null"]}},"required":["answer","reason","turn"],"type":"object"}',
  );
});

test('the committed recordings are keyed by the request this SDK builds', () => {
  for (const f of readdirSync(recordings).filter((f) => f.endsWith('.json'))) {
    const sent = JSON.parse(readFileSync(new URL(f, recordings), 'utf8')).request;
    const r = new Request().system(sent.messages[0].content).user(sent.messages[1].content).withMaxTokens(300).schema(yesNoSchema());
    const body = {
      model: 'reference-judge',
      messages: r.messages.map((m) => ({ role: m.role, content: m.content })),
      temperature: f64(r.temperature),
      max_tokens: r.maxTokens,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: r.jsonSchema } },
    };
    assert.equal(createHash('sha256').update(canonicalJson(body)).digest('hex'), f.replace(/\.json$/, ''));
  }
});

test('the native judge answers; without one the call is unavailable', () => {
  setNativeJudge(null);
  assert.throws(() => complete(new Request().user('q')), (e) => e instanceof JudgeError && e.kind === 'unavailable' && e.message.startsWith('model unavailable: no judge in a native test'));
  let seen = null;
  setNativeJudge((req) => {
    seen = req;
    return Response.text('  {"answer": "no", "reason": " never said it ", "turn": 1}\n');
  });
  const req = new Request().system('s').user('q');
  const [v, r] = completeJson(req);
  assert.equal(seen, req);
  assert.deepEqual([r.model, r.key], ['native-test-judge', '']);
  assert.deepEqual(parseYesNo(v, 2), new YesNo(false, 'never said it', 1));
  setNativeJudge(() => '[1]');
  assert.equal(complete(req).content, '[1]');
  setNativeJudge(null);
});

test('errors read like the Rust SDK and are PluginErrors', () => {
  for (const [err, kind, message] of [
    [JudgeError.denied('add grant_model = true'), 'denied', 'model call denied: add grant_model = true'],
    [JudgeError.notRecorded('sha256:ab'), 'notRecorded', 'model answer not recorded: sha256:ab'],
    [JudgeError.unavailable('HTTP 500'), 'unavailable', 'model unavailable: HTTP 500'],
    [JudgeError.invalid('temperature 3 is outside 0..=2'), 'invalid', 'invalid model request: temperature 3 is outside 0..=2'],
  ]) {
    assert.ok(err instanceof PluginError);
    assert.deepEqual([err.kind, err.message], [kind, message]);
    setNativeJudge(() => {
      throw err;
    });
    assert.throws(() => completeJson(new Request().user('q')), (e) => e.message === message);
  }
  setNativeJudge(() => 'Yes, clearly.');
  assert.throws(() => completeJson(new Request().user('q')), (e) => e instanceof PluginError && /^the judge's answer is not JSON \(.*\): Yes, clearly\.$/.test(e.message));
  setNativeJudge(null);
  assert.throws(() => new JudgeError('nope', 'x'), TypeError);
});

test('yes/no answers are read as the Rust SDK reads them', () => {
  const v = parseJsonExact('{"answer": "Yes", "reason": " ok ", "turn": 3}');
  assert.deepEqual(parseYesNo(v, 4), new YesNo(true, 'ok', 3));
  assert.equal(parseYesNo(v, 3).turn, null);
  assert.throws(() => parseYesNo({ answer: 'maybe' }, 3), (e) => e instanceof PluginError && e.message === 'the judge\'s answer has no `answer` of "yes" or "no": {"answer":"maybe"}');
  for (const t of ['3.0', '-1', 'true', '"3"', 'null', '18446744073709551616']) {
    assert.equal(parseYesNo(parseJsonExact(`{"answer": "no", "turn": ${t}}`), 1e30).turn, null, t);
  }
  assert.equal(parseYesNo(parseJsonExact('{"answer": "no", "turn": 9007199254740993}'), 5).turn, null);
  assert.deepEqual(parseYesNo({ answer: '\u00a0NO\u3000', turn: 0 }, 1), new YesNo(false, '', 0));
  for (const bad of [{ answer: 'y\u0130s' }, { answer: 1 }, ['yes'], 'yes', null, { reason: 'yes' }]) assert.throws(() => parseYesNo(bad, 3), PluginError);
  assert.throws(() => parseYesNo(parseJsonExact('{"b":1.0,"a":[null]}'), 3), (e) => e.message.endsWith(': {"a":[null],"b":1.0}'));
  assert.equal(new YesNo(true, 'Stated.', null).reasonLine(), 'judge: Stated.');
  assert.equal(new YesNo(true, '').reasonLine(), 'judge: yes');
  assert.equal(new YesNo(false, '', 2).reasonLine(), 'judge: no');
});
