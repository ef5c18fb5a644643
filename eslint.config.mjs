// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

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
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@app/*/*', '**/libs/*/src/*'],
              message: 'Import a lib through its root entry (@app/queue, not a deep path).',
            },
            {
              group: ['**/apps/api/**', '**/apps/worker/**'],
              message: 'Apps never import each other; move shared code to a lib.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
