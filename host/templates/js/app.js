// The component entry: componentize-js exports `%%JS_EXPORT%%` (the WIT interface's name).
// Only the build imports this module; the logic (plugin.js) and its tests do not.
import { %%KIND%% } from '%%JS_COMPONENT%%';
import { %%TYPE%% } from './plugin.js';

export const %%JS_EXPORT%% = %%KIND%%(new %%TYPE%%());
