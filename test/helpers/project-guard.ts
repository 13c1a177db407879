// Unit tests run in seconds against src/ with no build: one that spawns the CLI (which runs dist/) or starts a
// nats-server would be slow and could test a stale build. Such a test file belongs to the e2e project.
export function e2eOnly(what: string): void {
  if (process.env.PEER_AUDIT_TEST_PROJECT !== 'unit') return;
  throw new Error(`${what} in a unit test: list the test file in E2E_ELSEWHERE in vitest.config.ts`);
}
