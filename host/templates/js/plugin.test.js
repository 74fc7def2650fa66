// Native tests, no Wasm: `node --test`. Every input in samples/ must give its
// .expected.json byte for byte, every input in samples/invalid/ its .error.txt
// (`RATCHET_UPDATE_GOLDEN=1 node --test` rewrites them; review the diff).
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { %%JS_RUNNER%%, goldenSamples } from '%%JS_TESTING%%';
import { %%TYPE%% } from './plugin.js';

test('samples match the expected output', () => {
  goldenSamples(fileURLToPath(new URL('./samples', import.meta.url)), 1, %%JS_RUNNER%%(new %%TYPE%%()));
});
