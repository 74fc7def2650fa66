// Native tests (no Wasm, no model): `node --test`. A native test judge checks the
// request the plugin builds and answers it (the Rust original's tests,
// plugins/assertion-llm-rubric/tests/native.rs), and the request for the example
// suite's transcript is exactly the one the Rust plugin recorded in recordings/model/.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Conversation, PluginError, canonicalJson, f64 } from '../../sdk/js/src/index.js';
import { JudgeError, Response, setNativeJudge, yesNoSchema } from '../../sdk/js/src/judge.js';
import { LlmRubric, MAX_TOKENS, SYSTEM_PROMPT, config, request } from './llm-rubric.js';

const recordings = new URL('../../recordings/model/', import.meta.url);
const QUESTION = 'Did the agent tell the customer the cancellation policy, i.e. that the plan stays active until the end of the current billing period?';
const transcript = () => Conversation.fromJSONValue({ id: 'c1', channel: 'chat', turns: [{ role: 'customer', text: 'Please cancel my plan.' }, { role: 'agent', text: 'Done, your plan is cancelled.' }] });
const p = new LlmRubric();

/** What `ratchet gate` replayed for scenarios/cancellation-policy-confirmed.toml (sdk/conformance/judge-transcript.json, shared by every language's judge tests). */
function exampleTranscript(agentReply) {
  const text = readFileSync(new URL('../../sdk/conformance/judge-transcript.json', import.meta.url), 'utf8');
  return Conversation.fromJson(text.replace('"{AGENT_REPLY}"', JSON.stringify(agentReply)));
}

test('asks the question about the rendered transcript and follows the answer', () => {
  setNativeJudge((req) => {
    assert.equal(req.messages[0].role, 'system');
    assert.equal(req.messages[0].content, SYSTEM_PROMPT);
    assert.ok(req.messages[1].content.startsWith('QUESTION: Did the agent state the policy?\nGRADING NOTES: quote it\n\nTRANSCRIPT:\n[0] CUSTOMER: Please cancel'), req.messages[1].content);
    assert.deepEqual([req.temperature, req.maxTokens, req.model], [0, 300, '']);
    assert.deepEqual(req.jsonSchema, yesNoSchema());
    return Response.text('{"answer": "no", "reason": "The agent cancelled without stating any policy.", "turn": 1}');
  });
  const v = p.check(transcript(), { question: 'Did the agent state the policy?', guidance: 'quote it' });
  assert.deepEqual([v.passed, v.reason, v.turn], [false, 'judge: The agent cancelled without stating any policy.', 1]);
  setNativeJudge(() => '{"answer": "yes", "reason": "Stated at turn 1.", "turn": 99}');
  const ok = p.check(transcript(), { question: 'q?' });
  assert.ok(ok.passed);
  assert.equal(ok.turn, null, 'a turn outside the transcript is not trusted');
  setNativeJudge(null);
});

test('bad params and bad answers are errors, not verdicts', () => {
  const err = (params) => {
    try {
      p.check(transcript(), params);
    } catch (e) {
      assert.ok(e instanceof PluginError, String(e));
      return e.message;
    }
    assert.fail('no error');
  };
  assert.equal(err({}), 'param `question` is required: a yes/no question whose "yes" means the agent behaved correctly');
  assert.equal(err({ question: ' \u3000' }), 'param `question` is required: a yes/no question whose "yes" means the agent behaved correctly');
  assert.equal(err({ question: 'q?', typo: 1 }), 'unknown param `typo`, expected one of `question`, `guidance`, `model`');
  assert.equal(err({ question: 3 }), 'param `question` must be a string, got a number');
  assert.equal(err([]), 'params must be a JSON object, got an array');
  setNativeJudge(() => 'Yes, clearly.');
  assert.ok(err({ question: 'q?' }).includes('not JSON'));
  setNativeJudge(() => {
    throw JudgeError.notRecorded('no recording sha256:ab');
  });
  assert.equal(err({ question: 'q?' }), 'model answer not recorded: no recording sha256:ab');
  setNativeJudge(null);
});

test('params are read as the Rust original reads them', () => {
  assert.deepEqual(config({ question: '  Did it?\n', guidance: ' notes ', model: 'm-1' }), { question: 'Did it?', guidance: ' notes ', model: 'm-1' });
  assert.deepEqual(config({ question: 'q', guidance: '\t', model: null }), { question: 'q', guidance: null, model: null });
  const r = request(config({ question: 'q', model: 'gpt-x' }), transcript());
  assert.deepEqual([r.model, r.maxTokens], ['gpt-x', MAX_TOKENS]);
  assert.equal(r.messages[1].content, 'QUESTION: q\n\nTRANSCRIPT:\n[0] CUSTOMER: Please cancel my plan.\n[1] AGENT: Done, your plan is cancelled.\n');
});

test("the example suite's question is the one the Rust plugin recorded (same key)", () => {
  const replies = {
    a1730988d57665d029c1c8044f209343bc8c1f5c9063fc852471a0abb16aeca5: [
      "Per our cancellation policy, your plan stays active until the end of the current billing period and you won't be charged again. Your subscription has been cancelled. Is there anything else I can help you with?",
      true,
    ],
    adecf4dcd85a5596ad4fc4b3f7740f53dab0311727cb28e39a17cafa86bbd461: ['Your subscription has been cancelled. Is there anything else I can help you with?', false],
  };
  for (const [key, [reply, passes]] of Object.entries(replies)) {
    const rec = JSON.parse(readFileSync(new URL(`${key}.json`, recordings), 'utf8'));
    const t = exampleTranscript(reply);
    const r = request(config({ question: QUESTION }), t);
    const body = {
      model: 'reference-judge',
      messages: r.messages.map((m) => ({ role: m.role, content: m.content })),
      temperature: f64(r.temperature),
      max_tokens: r.maxTokens,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: r.jsonSchema } },
    };
    assert.equal(canonicalJson(body), canonicalJson({ ...rec.request, temperature: f64(rec.request.temperature) }), key);
    assert.equal(createHash('sha256').update(canonicalJson(body)).digest('hex'), key);
    setNativeJudge(() => new Response(rec.response.content, rec.response.model, `sha256:${key}`));
    const v = p.check(t, { question: QUESTION });
    assert.equal(v.passed, passes, key);
    assert.ok(v.reason.startsWith('judge: '));
  }
  setNativeJudge(null);
});
