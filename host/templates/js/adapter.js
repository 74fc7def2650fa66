// %%NAME%%: a ratchet adapter that turns a vendor's export into canonical
// conversations. The example format is one JSON object per conversation:
//
//   {"conversation_id": "vendor-7f3a", "channel": "voice", "started_at": "2026-11-24T09:31:04Z",
//    "messages": [{"from": "customer", "text": "..."}, {"from": "bot", "text": "..."}]}
//
// `channel` defaults to the `default_channel` option (`chat`). What the format does
// not carry is listed in `missing`, never invented.

import { Conversation, Converted, Params, PluginError, PluginInfo, Turn, canonicalJson } from '%%JS_INDEX%%';

/** Canonical fields this format never has. */
export const MISSING = ['state.kb_version_hash', 'state.model', 'state.prompt_version', 'state.tool_registry'];
const CHANNELS = ['chat', 'voice'];
const ROLES = { customer: 'customer', bot: 'agent' };

export class %%TYPE%% {
  info() {
    return new PluginInfo('%%NAME%%', '0.1.0', 'Vendor messages export -> canonical conversations');
  }

  convert(data, options) {
    const p = new Params(options);
    p.denyUnknown(['default_channel']);
    const dflt = p.str('default_channel', 'chat');
    if (!CHANNELS.includes(dflt)) throw new PluginError(`option \`default_channel\` must be "chat" or "voice", got ${canonicalJson(dflt)}`);

    let v;
    try {
      v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
    } catch (e) {
      throw new PluginError(`input is not JSON: ${e.message}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new PluginError('input must be a JSON object with `conversation_id` and `messages`');
    if (typeof v.conversation_id !== 'string') throw new PluginError('`conversation_id` must be a string');
    const c = new Conversation({ id: v.conversation_id, channel: dflt });
    if ('channel' in v) {
      if (!CHANNELS.includes(v.channel)) throw new PluginError(`\`channel\` must be "chat" or "voice", got ${canonicalJson(v.channel)}`);
      c.channel = v.channel;
    }
    if ('started_at' in v) {
      if (typeof v.started_at !== 'string') throw new PluginError('`started_at` must be a string');
      c.startedAt = v.started_at;
    }
    if (!Array.isArray(v.messages)) throw new PluginError('`messages` must be an array');
    v.messages.forEach((m, i) => {
      const sender = m !== null && typeof m === 'object' && !Array.isArray(m) ? m.from : undefined;
      if (typeof sender !== 'string' || !Object.hasOwn(ROLES, sender)) {
        const got = sender === undefined ? 'nothing' : canonicalJson(sender);
        throw new PluginError(`messages[${i}].from must be "customer" or "bot", got ${got}`);
      }
      const text = 'text' in m ? m.text : '';
      if (typeof text !== 'string') throw new PluginError(`messages[${i}].text must be a string`);
      c.pushTurn(new Turn({ role: ROLES[sender], text }));
    });
    const missing = [...MISSING];
    if (c.startedAt === null) missing.unshift('started_at');
    return [new Converted(c, missing)];
  }
}
