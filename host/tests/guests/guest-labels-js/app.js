// The component entry: componentize-js exports `scorer` (the WIT interface's name).
import { scorecard } from '../../../../sdk/js/src/component.js';
import { Labels } from './labels-guest.js';

export const scorer = scorecard(new Labels());
