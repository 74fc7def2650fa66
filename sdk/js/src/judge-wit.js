// The model import, for components whose bundle uses `judge.js`: `bin/build.mjs`
// adds this module to such a bundle (plugins never import it themselves), so only
// plugins that ask a model import `ratchet:plugin/model`. It points `judge.js` at
// the host's `complete` (WIT 0.1.1; the build rewrites the version to the WIT it
// builds against).

import { complete as hostComplete } from 'ratchet:plugin/model@0.1.1';

import { canonicalJson } from './canonical.js';
import { JudgeError, Response, setComponentJudge } from './judge.js';

const KINDS = { denied: 'denied', 'not-recorded': 'notRecorded', notRecorded: 'notRecorded', unavailable: 'unavailable', invalid: 'invalid' };

// componentize-js throws an import's `result` error; the model-error variant
// arrives as `{tag, val}`, possibly wrapped (`payload`).
function judgeError(e) {
  const v = e !== null && typeof e === 'object' && 'payload' in e ? e.payload : e;
  if (v !== null && typeof v === 'object' && v.tag in KINDS) return new JudgeError(KINDS[v.tag], String(v.val));
  return JudgeError.unavailable(`the host's model import failed: ${e instanceof Error ? e.message : String(e)}`);
}

setComponentJudge((request) => {
  const req = {
    model: request.model ?? '',
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: Number(request.temperature),
    maxTokens: request.maxTokens ?? undefined,
    jsonSchema: request.jsonSchema == null ? undefined : canonicalJson(request.jsonSchema),
  };
  let r;
  try {
    r = hostComplete(req);
  } catch (e) {
    throw judgeError(e);
  }
  return new Response(r.content, r.model, r.key);
});
