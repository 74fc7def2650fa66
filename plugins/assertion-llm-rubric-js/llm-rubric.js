// assertion-llm-rubric, in JavaScript: a port of the Rust plugin
// (plugins/assertion-llm-rubric). A scenario criterion of kind `plugin` decided by
// a language model: the judge reads the replayed transcript and answers one yes/no
// `question` whose "yes" means the agent behaved correctly.
//
// The model is reached through the host's `ratchet:plugin/model` import, so the
// plugin needs `grant_model = true`. The request is byte for byte the Rust
// original's (system prompt, user message, transcript rendering, max_tokens 300,
// temperature 0, schema), so both ask the same question and share one recording.
//
//   param     required  meaning
//   question  yes       a yes/no question; "yes" = pass
//   guidance  no        grading notes for the judge
//   model     no        a model id instead of the [model] default
//
// The verdict's reason is the judge's sentence (`judge: ...`); its turn the turn the
// judge named, when that turn exists.

import { Params, PluginError, PluginInfo, Verdict } from '../../sdk/js/src/index.js';
import { Request, completeJson, parseYesNo, renderTranscript, yesNoSchema } from '../../sdk/js/src/judge.js';
import { trim } from '../../sdk/js/src/text.js';

/** The judge's instructions: the Rust original's SYSTEM_PROMPT, byte for byte. */
export const SYSTEM_PROMPT =
  'You are a meticulous quality reviewer of a customer-support AI agent. ' +
  "You are given the transcript of one conversation (turn indices in brackets; AGENT lines are the agent's replies and tool calls, " +
  "TOOL lines are tool results) and one yes/no question about the agent's behaviour. Judge only from the transcript, strictly: " +
  'if the transcript does not show the behaviour, the answer is "no". Answer with JSON: ' +
  '{"answer": "yes" or "no", "reason": one sentence citing what the agent said or did, "turn": the index of the deciding turn or null}.';

/** Most completion tokens asked for. */
export const MAX_TOKENS = 300;

/** What the judge is asked, read from params (the Rust original's errors). */
export function config(params) {
  const p = new Params(params);
  p.denyUnknown(['question', 'guidance', 'model']);
  const question = p.str('question', '');
  if (!trim(question)) throw new PluginError('param `question` is required: a yes/no question whose "yes" means the agent behaved correctly');
  const opt = (k) => {
    const v = p.str(k, '');
    return trim(v) ? v : null;
  };
  return { question: trim(question), guidance: opt('guidance'), model: opt('model') };
}

/** The request for `transcript`. */
export function request(cfg, transcript) {
  let user = `QUESTION: ${cfg.question}\n`;
  if (cfg.guidance !== null) user += `GRADING NOTES: ${cfg.guidance}\n`;
  user += '\nTRANSCRIPT:\n' + renderTranscript(transcript);
  const r = new Request().system(SYSTEM_PROMPT).user(user).withMaxTokens(MAX_TOKENS).schema(yesNoSchema());
  return cfg.model !== null ? r.withModel(cfg.model) : r;
}

export class LlmRubric {
  info() {
    return new PluginInfo('llm-rubric-js', '0.1.0', 'An LLM judge answers a yes/no rubric question about the transcript (recorded; deterministic in replay)');
  }

  check(transcript, params) {
    const [answer] = completeJson(request(config(params), transcript));
    const j = parseYesNo(answer, transcript.turns.length);
    return j.yes ? Verdict.pass(j.reasonLine()) : Verdict.fail(j.reasonLine(), j.turn);
  }
}
