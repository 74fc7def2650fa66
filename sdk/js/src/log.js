/** The levels the host knows. */
export const LEVELS = ['debug', 'info', 'warn', 'error'];

let backend = (level, message) => console.error(`[plugin ${level}] ${message}`);

/** Where `log` writes (the component glue points it at the host); returns the previous backend. */
export function setLogBackend(fn) {
  const previous = backend;
  backend = fn;
  return previous;
}

/**
 * A log line for the plugin author. Inside a component it goes to the host (a
 * bounded number per call, shown by `ratchet plugin run`); natively, to stderr.
 * @param {'debug'|'info'|'warn'|'error'} level
 * @param {string} message
 */
export function log(level, message) {
  if (!LEVELS.includes(level)) throw new TypeError(`unknown log level ${JSON.stringify(level)}, expected one of ${LEVELS.join(', ')}`);
  backend(level, String(message));
}
