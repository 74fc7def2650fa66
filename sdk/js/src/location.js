// Where an error happened, in the author's terms. Errors in the sandbox name a line of
// the bundle esbuild made of the plugin and the SDK (`score@plugin.js:2605:5`); the
// build (bin/build.mjs) appends to the bundle a table from each bundle line to the
// source file and line it came from (`globalThis.__ratchetSourceLines`), and the
// component glue (component.js) rewrites the location through it (`plugin.js:16`).
// Pure, so it is unit-tested on plain Node (test/build.test.js).

// A bundle location (`score@plugin.js:2605:5`) as the author's file and line
// (`score@plugin.js:16`), through the table the build appends to the bundle.
export function sourceLocation(where, table = globalThis.__ratchetSourceLines) {
  if (!table) return where;
  return where.replace(/([^\s@()]+):(\d+):(\d+)/, (whole, file, line) => {
    if (file !== table.file && !file.endsWith(`/${table.file}`)) return whole;
    const i = (Number(line) - 1) * 2;
    const src = table.lines[i];
    if (src === undefined || src < 0) return whole;
    return `${table.sources[src]}:${table.lines[i + 1] + 1}`;
  });
}
