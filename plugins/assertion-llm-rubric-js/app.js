// The component entry: componentize-js exports `asserter` (the WIT interface's name).
// The bundle uses the SDK's judge.js, so the build adds the ratchet:plugin/model import
// (no "model": true needed in package.json; plugins that do not judge get none).
import { assertion } from '../../sdk/js/src/component.js';
import { LlmRubric } from './llm-rubric.js';

export const asserter = assertion(new LlmRubric());
