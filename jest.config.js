/** Three sizes of test (docs/architecture.md): unit beside the code, integration on a real Redis, e2e over real processes. */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
  moduleNameMapper: {
    '^@app/queue$': '<rootDir>/libs/queue/src',
    '^@app/metrics$': '<rootDir>/libs/metrics/src',
    '^@app/contracts$': '<rootDir>/libs/contracts/src',
    '^@app/config$': '<rootDir>/libs/config/src',
    '^@app/results$': '<rootDir>/libs/results/src',
    '^@app/auth$': '<rootDir>/libs/auth/src',
    '^@app/client$': '<rootDir>/libs/client/src',
    '^@app/task-types$': '<rootDir>/libs/task-types/src',
    '^@app/worker$': '<rootDir>/libs/worker/src',
    '^@app/testing$': '<rootDir>/test/support',
  },
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts', '<rootDir>/test/{docs,tooling}/*.spec.ts'],
    },
    {
      ...common,
      // The console's pages as components in jsdom, no browser: part of the unit tier, so the same name.
      displayName: 'unit',
      testMatch: ['<rootDir>/apps/console/**/*.spec.tsx'],
      moduleFileExtensions: ['js', 'json', 'ts', 'tsx'],
      transform: { '^.+\\.tsx?$': 'ts-jest' },
      testEnvironment: 'jsdom',
      // jsdom's default conditions pick Preact's browser build (ES modules), which jest cannot require.
      testEnvironmentOptions: { customExportConditions: ['node', 'node-addons'] },
    },
    { ...common, displayName: 'int', testMatch: ['<rootDir>/{apps,libs,test}/**/*.int-spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      // Every response an e2e spec gets is checked against the served OpenAPI document.
      setupFilesAfterEnv: ['<rootDir>/test/e2e/contract/check-responses.setup.ts'],
    },
    // The fault-injection suite: real processes, its own redis-server with AOF, faults one at a time.
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'] },
    // Failover under load: a Redis Cluster and a Sentinel group of its own, a master killed.
    { ...common, displayName: 'failover', testMatch: ['<rootDir>/test/faults/**/*.failover-spec.ts'] },
  ],
};
