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
 */
const path = require('node:path');

/** @param {import('webpack').Configuration} options nest's defaults for the app being built */
module.exports = (options) => {
  const bundleDir = path.resolve(
    options.output?.path ?? path.join(process.cwd(), 'dist'),
    path.dirname(String(options.output?.filename ?? '')),
  );
  return {
    ...options,
    devtool: 'nosources-source-map',
    output: {
      ...options.output,
      devtoolModuleFilenameTemplate: (/** @type {{ absoluteResourcePath: string }} */ info) =>
        path.relative(bundleDir, info.absoluteResourcePath).split(path.sep).join('/'),
    },
  };
};
