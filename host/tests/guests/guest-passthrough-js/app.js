// The component entry: an adapter returning the canonical conversation it reads.
import { adapter } from '../../../../sdk/js/src/component.js';
import { Conversation, Converted, PluginInfo } from '../../../../sdk/js/src/index.js';

export const converter = adapter({
  info: () => new PluginInfo('guest-passthrough-js', '0.1.0', 'canonical conversation in, the same out'),
  convert: (input) => [new Converted(Conversation.fromJson(input))],
});
