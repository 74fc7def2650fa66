// The scorecard: flags `label:KEY=VALUE` for every label it was given, fails when the
// label `verdict` is `bad`, failure mode from the label `failure_mode` (the Rust
// twin's rules, host/tests/guests/guest-labels).
import { CriterionResult, PluginInfo, ScorecardResult } from '../../../../sdk/js/src/index.js';

export class Labels {
  info() {
    return new PluginInfo('guest-labels-js', '0.1.0', 'reports the labels it was given');
  }

  score(c) {
    const check =
      c.labels.verdict === 'bad'
        ? CriterionResult.fail('label-verdict', 'the conversation is labelled verdict=bad')
        : CriterionResult.pass('label-verdict', 'no verdict=bad label');
    const r = ScorecardResult.fromCriteria([check]);
    r.flags = Object.keys(c.labels).sort().map((k) => `label:${k}=${c.labels[k]}`);
    if (r.score < 1) r.failureMode = c.labels.failure_mode ?? 'labelled-bad';
    return r;
  }
}
