// The component entry: a scorecard whose output depends on module-level state
// (`seen` lives as long as the instance). With a fresh instance per conversation
// every call reports `call #1` and no previous conversation; on a reused instance
// they would depend on what was scored before (host/tests/it/isolation.rs).
import { scorecard } from '../../../../sdk/js/src/component.js';
import { CriterionResult, PluginInfo, ScorecardResult } from '../../../../sdk/js/src/index.js';

const seen = [];

export const scorer = scorecard({
  info: () => new PluginInfo('guest-state-leak-js', '0.1.0', 'reports how many conversations this instance scored'),
  score(conversation, params) {
    seen.push(conversation.id);
    const reason = `call #${seen.length}; previous: ${seen.length > 1 ? seen[seen.length - 2] : 'none'}`;
    return ScorecardResult.fromCriteria([params?.fail === true ? CriterionResult.fail('call-count', reason) : CriterionResult.pass('call-count', reason)]);
  },
});
