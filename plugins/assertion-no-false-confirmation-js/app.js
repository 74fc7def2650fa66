// The component entry: componentize-js exports `asserter` (the WIT interface's name).
import { assertion } from '../../sdk/js/src/component.js';
import { NoFalseConfirmation } from './no-false-confirmation.js';

export const asserter = assertion(new NoFalseConfirmation());
