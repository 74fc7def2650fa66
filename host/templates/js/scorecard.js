// %%NAME%%: a ratchet scorecard. Two criteria, each pointing at the turn it is about:
//   greets-customer              fails when the agent's first reply has none of the `greetings` (whole words, any case)
//   answers-every-customer-turn  fails when a customer turn gets no agent reply (an agent turn with text)
//                                before the customer speaks again or the conversation ends
// Score = the mean of the two; the failure mode is the first failing criterion.
// Params: `greetings` (list of phrases, default hello / hi / welcome / good morning).

import { CriterionResult, Params, PluginInfo, ScorecardResult, findAnyWordCi } from '%%JS_INDEX%%';

export class %%TYPE%% {
  info() {
    return new PluginInfo('%%NAME%%', '0.1.0', 'Greets the customer and answers every customer turn');
  }

  score(conversation, params) {
    const p = new Params(params);
    p.denyUnknown(['greetings']);
    const greetings = p.strList('greetings', ['hello', 'hi', 'welcome', 'good morning']);

    let greets;
    const first = conversation.agentTurns().find((t) => t.text);
    if (first === undefined) {
      greets = CriterionResult.fail('greets-customer', 'the agent never replied');
    } else {
      const g = findAnyWordCi(first.text, greetings);
      greets =
        g !== undefined
          ? CriterionResult.pass('greets-customer', `turn ${first.index} greets the customer ("${g}")`)
          : CriterionResult.fail('greets-customer', `the agent's first reply (turn ${first.index}) has no greeting`, first.index);
    }

    // A customer turn is answered when an agent turn with text follows it
    // before the next customer turn.
    let pending = null;
    let unanswered = null;
    let asked = 0;
    for (const t of conversation.turns) {
      if (t.role === 'customer') {
        if (pending !== null && unanswered === null) unanswered = pending;
        pending = t.index;
        asked += 1;
      } else if (t.role === 'agent' && t.text) {
        pending = null;
      }
    }
    if (unanswered === null) unanswered = pending;
    const answers =
      unanswered !== null
        ? CriterionResult.fail('answers-every-customer-turn', `customer turn ${unanswered} got no reply`, unanswered)
        : CriterionResult.pass('answers-every-customer-turn', `${asked} customer turn(s), each answered`);

    const result = ScorecardResult.fromCriteria([greets, answers]);
    result.failureMode = result.firstFailure()?.name ?? null;
    return result;
  }
}
