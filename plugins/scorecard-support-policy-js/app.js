// The component entry: componentize-js exports `scorer` (the WIT interface's name).
import { scorecard } from '../../sdk/js/src/component.js';
import { SupportPolicy } from './support-policy.js';

export const scorer = scorecard(new SupportPolicy());
