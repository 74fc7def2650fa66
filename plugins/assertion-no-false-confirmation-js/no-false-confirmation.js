// assertion-no-false-confirmation, in JavaScript: a port of the Rust plugin
// (plugins/assertion-no-false-confirmation) with byte-identical verdicts. A scenario
// criterion of kind `plugin`: the transcript fails when an agent turn *claims* an
// action happened (one of `claims`, e.g. "cancelled") while the account state does
// not support it (`state_key` does not equal `required_value` at that turn).
//
//   param           default                                     meaning
//   claims          cancelled, canceled, cancellation is ...    phrases that claim the action (whole words, any case; "not cancelled" does not count)
//   state_key       account.subscription_status                 the state that must support the claim
//   required_value  "active"                                    the value it must have (any JSON; "true" equals true)
//   lookup_tool     lookup_account                              tool whose latest result (field = last segment of state_key) beats the memory snapshot

import { Params, PluginError, PluginInfo, Verdict, canonicalJson, findAffirmedCi, valueText } from '../../sdk/js/src/index.js';

/** Default claim phrases. */
export const DEFAULT_CLAIMS = ['cancelled', 'canceled', 'cancellation is complete', 'cancellation has been processed'];

/** What the plugin checks, read from params with defaults. */
export function config(params) {
  const p = new Params(params);
  p.denyUnknown(['claims', 'state_key', 'required_value', 'lookup_tool']);
  const claims = p.strList('claims', DEFAULT_CLAIMS);
  if (claims.every((c) => c.trim() === '')) throw new PluginError('param `claims` must contain at least one non-empty phrase');
  return {
    claims,
    stateKey: p.str('state_key', 'account.subscription_status'),
    requiredValue: p.get('required_value') ?? 'active',
    lookupTool: p.str('lookup_tool', 'lookup_account'),
  };
}

/** A JSON value for messages: JSON as is (strings quoted), or `unknown`. */
const shown = (v) => (v === undefined || v === null ? 'unknown' : canonicalJson(v));

export class NoFalseConfirmation {
  info() {
    return new PluginInfo('assertion-no-false-confirmation-js', '0.1.0', 'Fails when the agent claims an action the account state does not support');
  }

  check(transcript, params) {
    const cfg = config(params);
    const required = valueText(cfg.requiredValue);
    let supported = 0;
    for (const turn of transcript.agentTurns()) {
      const phrase = findAffirmedCi(turn.text, cfg.claims);
      if (phrase === undefined) continue;
      const fact = transcript.stateFact(cfg.stateKey, cfg.lookupTool, turn.index);
      const value = fact?.value;
      if (fact !== undefined && valueText(value) === required) {
        supported += 1;
        continue;
      }
      const source = fact === undefined ? ' (no lookup result or memory entry)' : ` (${fact.source.describe()})`;
      return Verdict.fail(`turn ${turn.index}: the agent said "${phrase}" but ${cfg.stateKey} is ${shown(value)}${source}, not ${shown(cfg.requiredValue)}`, turn.index);
    }
    return Verdict.pass(
      supported === 0
        ? `no agent turn claims ${cfg.claims.map((c) => `"${c}"`).join(', ')}`
        : `${supported} claim(s), each made while ${cfg.stateKey} was ${shown(cfg.requiredValue)}`,
    );
  }
}
