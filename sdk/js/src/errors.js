/**
 * The error a plugin throws to say "I could not do this" (bad params, unusable
 * input): the host receives its message as the WIT result's error string, like a
 * Rust plugin's `Err(String)`. Any other exception is a bug: the SDK reports it to
 * the host (`abort-reason`: name, message, where) and the call traps.
 */
export class PluginError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'PluginError';
  }
}
