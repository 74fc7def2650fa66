// The labels import, for components of the scorecard, assertion and adapter worlds
// built against WIT 0.1.3: `bin/build.mjs` adds this module to such a bundle (plugins
// never import it themselves). It points `component.js` at the host's `get` (the
// labels of the conversation a call is about) and `attach` (an adapter labelling the
// conversations it returns). The build rewrites the version to the WIT it builds
// against.

import { attach, get } from 'ratchet:plugin/labels@0.1.3';

import { setLabelsBackend } from './component.js';

setLabelsBackend({ get: () => get(), attach: (id, pairs) => attach(id, pairs) });
