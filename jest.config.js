/**
 * Two projects: `unit` (pure functions, Pulumi mocks, the offline plan; seconds, no server) and
 * `integration` (`*.integration.test.ts`: real PostgreSQL servers on loopback ports, real Helm).
 * `npm test` runs both; `npm run test:unit` and `npm run test:integration` one each.
 * @type {import('jest').Config}
 */
const shared = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: {
    "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }],
  },
  // The package's own name, as examples/ import it: its entry point's source (package.json `exports` points at
  // its build, dist/components/index.js; tsconfig.json `paths` maps the same for the type checker).
  moduleNameMapper: { "^ducklake-pgmq$": "<rootDir>/components/index.ts" },
};

module.exports = {
  // Integration tests start real PostgreSQL servers; give them time and keep the run to two workers
  // so two servers never fight over more than the machine's 2 cores.
  testTimeout: 120000,
  maxWorkers: 2,
  // the default reporter, and a list of skipped tests by title (which names what is missing) at the end
  reporters: ["default", "<rootDir>/test/helpers/skipped-reporter.js"],
  projects: [
    {
      ...shared,
      displayName: "unit",
      roots: ["<rootDir>/test", "<rootDir>/policy"],
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "\\.integration\\.test\\.ts$"],
    },
    {
      ...shared,
      displayName: "integration",
      roots: ["<rootDir>/test"],
      testMatch: ["**/*.integration.test.ts"],
    },
  ],
};
