// The component entry: componentize-js exports `simulation` (the WIT interface's name).
import { simulator } from '../../sdk/js/src/component.js';
import { Subscriptions } from './subscriptions.js';

export const simulation = simulator(new Subscriptions());
