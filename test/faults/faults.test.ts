// Fault injection against the real CLI, real files and real nats-server processes. Every fault is counted;
// the suite ends with one line: how many were injected, how many were handled as specified, how many values
// were lost (must be 0).
import { afterAll } from 'vitest';
import { fileSystemFaults } from './fs-faults.js';
import { natsFaults } from './nats-faults.js';
import { writeFaults } from './write-faults.js';
import { summaryLine } from './ledger.js';
import { killAllFaultServers } from './server.js';

fileSystemFaults();
natsFaults();
writeFaults();

afterAll(async () => {
  await killAllFaultServers();
  console.log(summaryLine());
});
