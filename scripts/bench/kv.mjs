// KV side of the benchmark: a private nats-server with JetStream on a free port and a temporary store,
// deterministic PEER state (v1 meta + cycles, v2 unified cycles + counter) with several revisions per key,
// and a loader that puts it with many writes in flight (one connection keeps their order: revision order).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { connect } from 'nats';
import { specDate } from './specs.mjs';

export const BUCKET = 'agent-os-peer-state';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts nats-server on 127.0.0.1 with a free port; resolves { url, stop }. */
export async function startNats(tmpRoot) {
  const bin = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
  const storeDir = await mkdtemp(path.join(tmpRoot, 'nats-'));
  const child = spawn(bin, ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', '-1', '--ports_file_dir', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const deadline = Date.now() + 15_000;
  let url;
  while (!url) {
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`nats-server did not start: ${stderr}`);
    const ports = (await readdir(storeDir)).find((f) => f.endsWith('.ports'));
    if (ports) {
      const info = JSON.parse(await readFile(path.join(storeDir, ports), 'utf8'));
      url = info.nats?.[0];
    }
    if (!url) await sleep(50);
  }
  // Ready when a client gets through and JetStream answers.
  for (;;) {
    try {
      const nc = await connect({ servers: url.replace(/^nats:\/\//, ''), reconnect: false, timeout: 2000 });
      await (await nc.jetstreamManager()).getAccountInfo();
      await nc.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * The writes a set of PEER runs makes, in order, until about `targetKeys` keys exist. `names[i]` is the spec of
 * run i (the first ones also have spec folders and transcripts). Yields { key, value } (value undefined: delete).
 */
export function* peerWrites(names, targetKeys) {
  let keys = 0;
  for (let i = 0; keys < targetKeys; i++) {
    const name = names[i % names.length] + (i >= names.length ? `-r${Math.floor(i / names.length)}` : '');
    const prefix = `peer.spec.${name}`;
    const t0 = Date.parse(`${specDate(i)}T08:00:00Z`) + (i % 500) * 60_000;
    const cycles = 1 + (i % 3 === 0 ? 1 : 0) + (i % 7 === 0 ? 1 : 0);
    const skipExecute = i % 13 === 5;
    const v2 = i % 2 === 1;
    for (let c = 1; c <= cycles; c++) {
      const t = t0 + (c - 1) * 3_600_000;
      const last = c === cycles;
      const phases = (n) => {
        const names4 = ['plan', 'execute', 'express', 'review'];
        const out = {};
        names4.forEach((p, k) => {
          if (p === 'execute' && skipExecute && last) return;
          if (k < n)
            out[p] = {
              status: v2 ? 'completed' : 'complete',
              started_at: iso(t + k * 300_000),
              completed_at: iso(t + k * 300_000 + 240_000),
              output: phaseOutput(p, name, i),
            };
          else if (k === n) out[p] = { status: v2 ? 'in_progress' : 'running', started_at: iso(t + k * 300_000) };
        });
        return out;
      };
      // One write per finished phase, as the phase agents write them.
      const steps = last ? [1, 2, 3, 4] : [4];
      if (!v2) {
        if (c === 1) {
          yield {
            key: `${prefix}.meta`,
            value: {
              spec_name: name,
              created_at: iso(t),
              current_cycle: 1,
              current_phase: 'plan',
              cycles: { 1: { instruction: 'create-spec', status: 'running', started_at: iso(t) } },
            },
          };
          keys++;
        }
        for (const n of steps) {
          const done = n === 4;
          yield {
            key: `${prefix}.cycle.${c}`,
            value: {
              cycle_number: c,
              instruction: c === 1 ? 'create-spec' : 'execute-tasks',
              started_at: iso(t),
              ...(done ? { completed_at: iso(t + 1_500_000) } : {}),
              phases: phases(n),
              ...(done
                ? { result: { success: true, instruction: 'create-spec', summary: `Spec ${name} created` } }
                : {}),
              status: {
                current_phase: done ? 'complete' : ['plan', 'execute', 'express', 'review'][n],
                progress_percent: done ? 100 : n * 25,
                last_update: iso(t),
              },
            },
          };
        }
        keys++;
        if (last) {
          const cyc = {};
          for (let k = 1; k <= cycles; k++)
            cyc[k] = {
              instruction: k === 1 ? 'create-spec' : 'execute-tasks',
              status: 'complete',
              started_at: iso(t0 + (k - 1) * 3_600_000),
              completed_at: iso(t0 + (k - 1) * 3_600_000 + 1_500_000),
            };
          yield {
            key: `${prefix}.meta`,
            value: {
              spec_name: name,
              created_at: iso(t0),
              current_cycle: cycles,
              current_phase: 'complete',
              cycles: cyc,
            },
          };
        }
      } else {
        for (const n of steps) {
          const done = n === 4;
          yield {
            key: `${prefix}.cycle.${c}`,
            value: {
              version: 1,
              cycle_id: `${prefix}.cycle.${c}`,
              metadata: {
                instruction_name: c === 1 ? 'create-spec' : 'execute-tasks',
                spec_name: name,
                key_prefix: prefix,
                cycle_number: c,
                created_at: iso(t),
                updated_at: iso(t + n * 300_000),
                status: done ? 'COMPLETED' : ['PLANNING', 'EXECUTING', 'EXPRESSING', 'REVIEWING'][n],
                current_phase: ['plan', 'execute', 'express', 'review', 'review'][n],
                ...(done ? { completed_at: iso(t + 1_500_000) } : {}),
              },
              context: {
                peer_mode: c === 1 ? 'new' : 'continue',
                spec_aware: true,
                user_requirements: `Build ${name.replace(/-\d+$/, '').replace(/-/g, ' ')}`,
              },
              phases: phases(n),
            },
          };
        }
        keys++;
        yield { key: `${prefix}.cycle.current`, value: String(c) };
        if (c === 1) keys++;
      }
    }
    // A little damage: a value that is not JSON, a deleted cycle.
    if (i % 29 === 1) yield { key: `${prefix}.cycle.1`, value: '{"cycle_number": 1, "phases": {"plan": ' };
    if (i % 31 === 2 && cycles > 1) yield { key: `${prefix}.cycle.${cycles}`, value: undefined };
  }
}

function phaseOutput(phase, name, i) {
  const folder = `.agent-os/specs/${specDate(i)}-${name}`;
  switch (phase) {
    case 'plan':
      return {
        instruction: 'create-spec',
        type: 'spec-aware',
        spec_name: name,
        estimated_duration: '30 minutes',
        phases: [
          { phase: 'preparation', description: 'Gather context', steps: ['Read mission-lite.md'] },
          { phase: 'execution', description: 'Write spec files', steps: ['spec.md', 'sub-specs'] },
        ],
        risks: [{ risk: 'Scope unclear', mitigation: 'Ask user', likelihood: 'medium' }],
      };
    case 'execute':
      return {
        instruction_executed: 'create-spec',
        execution_status: 'success',
        outputs: {
          files_created: [
            `${folder}/spec.md`,
            `${folder}/spec-lite.md`,
            `${folder}/sub-specs/technical-spec.md`,
            `${folder}/tasks.md`,
          ],
          decisions_made: ['Keep the API small'],
          user_interactions: [{ type: 'approval', question: 'Spec OK before tasks?', answer: 'yes' }],
        },
      };
    case 'express':
      return {
        summary: `Spec ${name} created`,
        key_points: ['4 tasks, TDD ordering'],
        deliverables: { files_created: 4, tasks_defined: 4 },
      };
    default:
      return {
        quality_score: 'high',
        completeness: true,
        compliance: { agent_os_standards: true, best_practices: true },
        recommendations: ['Document rate limits'],
      };
  }
}

/** Creates the bucket (history 50, as PEER does) and puts every write; returns { keys, revisions, ms }. */
export async function loadKv(url, writes, { bucket = BUCKET, inFlight = 2000 } = {}) {
  const t0 = performance.now();
  const nc = await connect({ servers: url.replace(/^nats:\/\//, ''), reconnect: false, timeout: 10_000 });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(`KV_${bucket}`).catch(() => undefined);
  const js = nc.jetstream({ timeout: 30_000 });
  const kv = await js.views.kv(bucket, { history: 50, replicas: 1 });
  const enc = new TextEncoder();
  const keys = new Set();
  let revisions = 0;
  const pending = new Set();
  for (const w of writes) {
    keys.add(w.key);
    revisions++;
    const p = (
      w.value === undefined
        ? kv.delete(w.key)
        : kv.put(w.key, enc.encode(typeof w.value === 'string' ? w.value : JSON.stringify(w.value)))
    ).then(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  await nc.drain();
  return { keys: keys.size, revisions, ms: Math.round(performance.now() - t0) };
}
