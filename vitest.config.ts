import { defineConfig } from 'vitest/config';

/**
 * Test files outside test/cli and test/faults that spawn the CLI or start a nats-server: they belong to e2e.
 * A unit test that tries either fails with a message pointing here (see test/helpers/project-guard.ts).
 */
const E2E_ELSEWHERE = [
  'test/fuzz/corpus.test.ts',
  'test/library.test.ts',
  'test/repair/faults.test.ts',
  'test/report/incident-report.test.ts',
  'test/report/redact.test.ts',
  'test/report/safe-output.test.ts',
  'test/report/sarif.test.ts',
  'test/rules/catalogue.test.ts',
  'test/sources/kv.test.ts',
  'test/sources/log-read-paths.test.ts',
  'test/sources/nats-context.test.ts',
  'test/sources/snapshot.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each NATS test file starts its own server; two cores do not need more workers than that.
    maxWorkers: 2,
    projects: [
      {
        // Rules, model, formats, config: in-process against src/, no build, no subprocess, no server.
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/cli/**', 'test/faults/**', 'test/**/*.fuzz.test.ts', ...E2E_ELSEWHERE],
          env: { PEER_AUDIT_TEST_PROJECT: 'unit' },
        },
      },
      {
        // Property tests of every parser: in-process like unit, but thousands of generated inputs (tens of seconds).
        extends: true,
        test: {
          name: 'fuzz',
          include: ['test/**/*.fuzz.test.ts'],
          env: { PEER_AUDIT_TEST_PROJECT: 'unit' },
        },
      },
      {
        // The built CLI as a subprocess, real nats-servers, fault injection: built once before the run.
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/cli/**/*.test.ts', 'test/faults/**/*.test.ts', ...E2E_ELSEWHERE],
          globalSetup: ['test/setup/build.ts'],
        },
      },
    ],
  },
});
