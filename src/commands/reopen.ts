import path from 'node:path';
import { buildModel } from '../model/build.js';
import type { PhaseName } from '../model/state.js';
import { readKvLive, displayServers } from '../sources/kv.js';
import { planReopen, ReopenRefused } from '../repair/reopen.js';
import { renderChange } from '../repair/plan.js';
import { JOURNAL_FORMAT, type Journal } from '../model/journal-format.js';
import { actorName, journalDir, newJournalId, saveJournal } from '../repair/journal.js';
import { applyJournal } from '../repair/apply.js';
import { withKv } from '../repair/connect.js';
import { confirmWrite } from './confirm.js';
import { kvOptions, type ConnectArgs } from './options.js';
import { writeOutput } from './output.js';
import { escapeControl } from '../model/text.js';
import { parseDuration } from '../audit.js';
import { SourceFailure, UsageError } from '../errors.js';

export interface ReopenArgs extends ConnectArgs {
  spec: string;
  project: string;
  cycle?: number;
  phase?: PhaseName;
  reason?: string;
  quietFor: string;
  force: boolean;
  apply: boolean;
  yes: boolean;
}

export async function reopenCommand(a: ReopenArgs, notice: (m: string) => void): Promise<number> {
  if (!a.reason?.trim())
    throw new UsageError('--reason is required: it is recorded in the journal and in the new cycle');
  const quietForMs = parseDuration(a.quietFor);
  const o = kvOptions(a);
  const { data, report } = await readKvLive(o);
  if (!report.ok) throw new SourceFailure(report.error ?? 'KV could not be read');
  const projectRoot = path.resolve(a.project);
  const model = buildModel({ projectRoot, bucket: a.bucket, kv: data });
  const prefix = a.spec.startsWith('peer.') ? a.spec : `peer.spec.${a.spec}`;
  const run = model.runs.find((r) => r.prefix === prefix);
  if (!run) throw new SourceFailure(`bucket ${a.bucket} holds no PEER state under ${prefix}`);

  const now = new Date().toISOString();
  let plan;
  try {
    plan = planReopen(run, {
      cycle: a.cycle,
      phase: a.phase,
      reason: a.reason,
      actor: actorName(),
      now,
      quietForMs,
      force: a.force,
    });
  } catch (e) {
    if (e instanceof ReopenRefused) throw new SourceFailure(`refusing to reopen: ${e.message}`);
    throw e;
  }
  const head = escapeControl(
    `Reopen ${prefix} cycle ${plan.from.number} as cycle ${plan.to}, resuming at ${plan.phase}.`,
  );
  await writeOutput(`${plan.changes.map((c) => renderChange(c, a.bucket)).join('\n')}\n${head}\n`);
  if (!a.apply) {
    await writeOutput('Dry run: nothing was written. Apply with --apply.\n');
    return 0;
  }
  if (!(await confirmWrite(`${head} Write ${plan.changes.length} KV changes?`, a.yes))) {
    notice('nothing written');
    return 1;
  }
  const journal: Journal = {
    format: JOURNAL_FORMAT,
    id: newJournalId(new Date(now)),
    command: 'reopen',
    createdAt: now,
    reason: a.reason,
    actor: actorName(),
    projectRoot,
    bucket: a.bucket,
    server: displayServers(o.servers),
    changes: plan.changes,
  };
  const file = path.join(journalDir(projectRoot), `${journal.id}.json`);
  await saveJournal(file, journal);
  notice(`journal ${path.relative(process.cwd(), file) || file}`);
  const outcome = await withKv(o, (kv) => applyJournal(journal, file, { kv, projectRoot }));
  for (const ch of journal.changes) if (ch.error) notice(`${ch.kind === 'kv' ? ch.key : ch.path}: ${ch.error}`);
  notice(
    `applied ${outcome.applied}, conflicts ${outcome.conflicts}, failed ${outcome.failed}` +
      `${outcome.unknown ? `, unknown ${outcome.unknown}` : ''}`,
  );
  if (outcome.applied === plan.changes.length)
    notice(`cycle ${plan.to} is ready: run /peer --continue --spec=${run.spec ?? prefix} to resume at ${plan.phase}`);
  return outcome.conflicts || outcome.failed || outcome.unknown ? 1 : 0;
}
