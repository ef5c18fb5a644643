// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Every file: libs through their root entry only; apps never import each other. */
const BASE_IMPORT_RULES = [
  {
    group: ['@app/*/*', '**/libs/*/src/*'],
    message: 'Import a lib through its root entry (@app/queue, not a deep path).',
  },
  {
    group: ['**/apps/api/**', '**/apps/worker/**'],
    message: 'Apps never import each other; move shared code to a lib.',
  },
];

/**
 * Libraries depend downward only (shared/STYLE.md): config and contracts import no lib, queue
 * imports contracts only, metrics may read the queue's inspector, results (the PostgreSQL result
 * store) reads the queue's task types, auth keeps its keys on the queue's Redis connection, and the
 * client (generated from the api's OpenAPI document, used by the CLI and other programs) speaks HTTP only.
 * The apps sit on top of all seven.
 */
const LIB_MAY_IMPORT = {
  config: [],
  contracts: [],
  queue: ['contracts'],
  metrics: ['queue', 'contracts'],
  results: ['queue'],
  auth: ['queue', 'contracts'],
  client: [],
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
      // Libraries are imported through their root entry only (shared/STYLE.md); apps never import each other.
      'no-restricted-imports': ['error', { patterns: BASE_IMPORT_RULES }],
    },
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
