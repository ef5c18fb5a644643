// @ts-check
/**
 * `nest build`'s webpack configuration: @nestjs/cli's defaults (node target, node_modules external, ts-loader)
 * plus source maps, so a stack trace names the TypeScript file and line (…/fail.handler.ts:12), not the bundle
 * (dist/apps/worker/main.js:5605). The apps run with `node --enable-source-maps` (the image sets it in
 * NODE_OPTIONS; npm start, the tests and the bench pass the flag), which reads dist/apps/<app>/main.js.map.
 *
 * - `nosources-source-map`: file names and lines only, no copy of the sources in the map (the image ships none).
 * - Sources are named relative to the bundle's directory, so Node resolves them to where the source tree is
 *   beside dist/ (this checkout; /app/apps/... in the image, where the path names the file without shipping it).
 *
 * The worker's thread-isolated task types run code in worker threads, which load it from files of their own:
 * `libs/worker/src/threads/thread-entry.ts` (what each thread runs) and every `*.thread.ts` of the app become entries of their
 * own, emitted as CommonJS modules beside main.js under their base name (`cpu.thread.js`), so a handler's
 * `join(__dirname, 'cpu.thread')` finds its file in the bundle's directory as it does beside its source.
 */
const fs = require('node:fs');
const path = require('node:path');

/**
 * The thread entries of the app whose main file is `entryFile`: none unless it has threads/thread-entry.ts.
 * @param {string} entryFile
 * @returns {Record<string, import('webpack').EntryDescription>}
 */
function threadEntries(entryFile) {
  const sourceRoot = path.dirname(entryFile);
  // The worker library's thread runner, for an app built on it (its module file names TaskqWorkerModule).
  const runner = path.join(__dirname, 'libs', 'worker', 'src', 'threads', 'thread-entry.ts');
  const appFiles = /** @type {string[]} */ (fs.readdirSync(sourceRoot, { recursive: true, encoding: 'utf8' }));
  const usesWorker = appFiles.some(
    (file) =>
      file.endsWith('.ts') && fs.readFileSync(path.join(sourceRoot, file), 'utf8').includes('TaskqWorkerModule'),
  );
  if (!usesWorker) return {};
  /** @type {Record<string, import('webpack').EntryDescription>} */
  const entries = {};
  /** @param {string} name @param {string} file */
  const add = (name, file) => {
    const taken = entries[name]?.import;
    if (taken)
      throw new Error(`two thread modules would both be dist/.../${name}.js: ${taken} and ${file}; rename one`);
    entries[name] = { import: file, library: { type: 'commonjs2' } };
  };
  add('thread-entry', runner);
  const files = /** @type {string[]} */ (fs.readdirSync(sourceRoot, { recursive: true, encoding: 'utf8' }));
  for (const file of files.filter((name) => name.endsWith('.thread.ts')).sort()) {
    add(path.basename(file, '.ts'), path.join(sourceRoot, file));
  }
  return entries;
}

/** @param {import('webpack').Configuration} options nest's defaults for the app being built */
module.exports = (options) => {
  const bundleDir = path.resolve(
    options.output?.path ?? path.join(process.cwd(), 'dist'),
    path.dirname(String(options.output?.filename ?? '')),
  );
  const threads = typeof options.entry === 'string' ? threadEntries(options.entry) : {};
  const withThreads = Object.keys(threads).length > 0;
  return {
    ...options,
    ...(withThreads ? { entry: { main: options.entry, ...threads } } : {}),
    devtool: 'nosources-source-map',
    output: {
      ...options.output,
      ...(withThreads ? { filename: path.join(path.dirname(String(options.output?.filename)), '[name].js') } : {}),
      devtoolModuleFilenameTemplate: (/** @type {{ absoluteResourcePath: string }} */ info) =>
        path.relative(bundleDir, info.absoluteResourcePath).split(path.sep).join('/'),
    },
  };
};
