// The component entry: guest-bare-scorecard-js's answer, through the SDK. The
// difference between the two on the same conversation is what the SDK's per-call
// conversion (WIT records to the model and back, JSON fields parsed) costs
// (`cargo bench --bench polyglot_call`).
import { scorecard } from '../../../../sdk/js/src/component.js';
import { CriterionResult, PluginInfo, ScorecardResult } from '../../../../sdk/js/src/index.js';

export const scorer = scorecard({
  info: () => new PluginInfo('guest-sdk-scorecard-js', '0.1.0', 'counts turns; the SDK, no logic'),
  score: (conversation) => ScorecardResult.fromCriteria([CriterionResult.pass('turns', `${conversation.turns.length} turns`)]),
});
