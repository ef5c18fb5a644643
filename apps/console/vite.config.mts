import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The operator console: a static build (dist/console) the api serves at /ui. Preact's JSX through esbuild
 * (no Babel preset); the typed client straight from libs/client; everything bundled, nothing from a CDN.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: { alias: { '@app/client': fileURLToPath(new URL('../../libs/client/src/index.ts', import.meta.url)) } },
  build: { outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)), emptyOutDir: true },
});
