// %%NAME%%: a ratchet assertion (a scenario criterion of `kind = "plugin"`): passes when
// the agent says `phrase` (any case) in one of its first `within_turns` turns (0, the
// default: any turn).
//
//   [[criteria]]
//   id = "states-refund-policy"
//   kind = "plugin"
//   plugin = "%%NAME%%"            # its [plugins.%%NAME%%] entry in ratchet.toml
//   params = { phrase = "refund policy", within_turns = 2 }

import { Params, PluginError, PluginInfo, Verdict, containsAnyCi } from '%%JS_INDEX%%';

export class %%TYPE%% {
  info() {
    return new PluginInfo('%%NAME%%', '0.1.0', 'The agent must say a phrase, within its first N turns');
  }

  check(transcript, params) {
    const p = new Params(params);
    p.denyUnknown(['phrase', 'within_turns']);
    const phrase = p.str('phrase', '');
    if (!phrase) throw new PluginError('param `phrase` is required (a non-empty string)');
    const within = p.u64('within_turns', 0);

    let last = null;
    const turns = transcript.agentTurns();
    for (let n = 0; n < turns.length; n++) {
      if (within > 0 && n >= within) break;
      const t = turns[n];
      if (containsAnyCi(t.text, [phrase])) return Verdict.pass(`turn ${t.index}: the agent said "${phrase}"`);
      last = t.index;
    }
    const scope = within > 0 ? ` in its first ${within} turn(s)` : '';
    return Verdict.fail(`the agent never said "${phrase}"${scope}`, last);
  }
}
