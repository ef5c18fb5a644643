// @ts-check
import eslint from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Every file: libs through their root entry only (docs/architecture.md). */
const BASE_IMPORT_RULES = [
  {
    group: ['@app/*/*', '**/libs/*/src/*'],
    message: 'Import a lib through its root entry (@app/queue, not a deep path).',
  },
];

/**
 * Apps never import each other, and libs import no app: zones over the resolved file paths, so a
 * relative import (`../../../worker/src/...`) is caught as surely as any other spelling.
 */
const APPS = ['api', 'worker', 'cli', 'console'];
const APP_ZONES = [
  ...APPS.map((app) => ({
    target: `./apps/${app}`,
    from: APPS.filter((other) => other !== app).map((other) => `./apps/${other}`),
    message: 'Apps never import each other; move shared code to a lib (docs/architecture.md).',
  })),
  { target: './libs', from: './apps', message: 'Libs never import an app; the apps sit on top of the libs.' },
];

/**
 * Libraries depend downward only (docs/architecture.md): config and contracts import no lib, queue
 * imports contracts only, metrics may read the queue's inspector, results (the PostgreSQL result
 * store) reads the queue's task types, auth keeps its keys on the queue's Redis connection, and the
 * client (generated from the api's OpenAPI document, used by the CLI and other programs) speaks HTTP only,
 * and task-types (runtime task types: their store is the queue's, their contracts the registry's) sits on both;
 * worker (the worker runtime any Nest application imports, packed as @taskq/worker) sits on all but auth and
 * task-types. The apps sit on top of all eight.
 */
const LIB_MAY_IMPORT = {
  config: [],
  contracts: [],
  queue: ['contracts'],
  metrics: ['queue', 'contracts'],
  results: ['queue'],
  auth: ['queue', 'contracts'],
  client: [],
  'task-types': ['queue', 'contracts'],
  worker: ['config', 'contracts', 'queue', 'metrics', 'results', 'client'],
};
const LIBS = Object.keys(LIB_MAY_IMPORT);
const libLayers = Object.entries(LIB_MAY_IMPORT).map(([lib, allowed]) => ({
  files: [`libs/${lib}/src/**/*.ts`],
  ignores: [`libs/${lib}/src/**/*.spec.ts`, `libs/${lib}/src/**/*.int-spec.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...BASE_IMPORT_RULES,
          {
            group: LIBS.filter((other) => other !== lib && !allowed.includes(other)).map((other) => `@app/${other}`),
            message: `libs/${lib} may import only ${allowed.map((a) => `@app/${a}`).join(', ') || 'no other lib'} (dependencies point down).`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      'dist/',
      '.dist-*/',
      'node_modules/',
      'coverage/',
      'scripts/ci/node_modules/',
      'grafana/dashboards/',
      'bench/results/',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        fetch: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        AbortSignal: 'readonly',
        AbortController: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      // Libraries are imported through their root entry only.
      'no-restricted-imports': ['error', { patterns: BASE_IMPORT_RULES }],
    },
  },
  {
    plugins: { import: importPlugin },
    settings: {
      // Relative imports resolved as TypeScript sees them; the @app/* aliases point at libs, never at an app.
      'import/resolver': { node: { extensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs', '.json'] } },
    },
    rules: { 'import/no-restricted-paths': ['error', { zones: APP_ZONES }] },
  },
  ...libLayers,
  {
    // The README's configuration check reads both apps' environment schemas; it is no app.
    files: ['test/docs/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
