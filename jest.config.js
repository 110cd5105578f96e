/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/policy"],
  testMatch: ["**/*.test.ts"],
  // Integration tests start real PostgreSQL servers; give them time and keep them serial with
  // the unit tests so two servers never fight over the 2 cores.
  testTimeout: 120000,
  maxWorkers: 2,
  transform: {
    "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }],
  },
};
