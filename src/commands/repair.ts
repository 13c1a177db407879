import type { ChalkInstance } from 'chalk';
import { scanWithModel, type ScanArgs } from './scan.js';
import { UsageError } from '../errors.js';
import { confirmWrite } from './confirm.js';
import { kvOptions } from './options.js';
import { writeOutput } from './output.js';
import { applyRepair, planRepair } from '../audit.js';
import { renderChange } from '../repair/plan.js';
import { withKv } from '../repair/connect.js';
import { hasUnsettledJournals, removeLeftoverTemps, settleEarlierJournals } from '../repair/apply.js';
import path from 'node:path';
import { escapeControl } from '../model/text.js';
import { existsSync, promises as fs } from 'node:fs';

export interface RepairArgs extends ScanArgs {
  spec?: string;
  cycle?: number;
  rule?: string[];
  apply: boolean;
  yes: boolean;
  reason?: string;
}

/**
 * Fault-injection hook for the tests: with PEER_AUDIT_FAULT_PLAN_GATE=FILE, the scan is followed by FILE.scanned and
 * the plan waits until FILE exists, so a test can change a spec file between the scan and the plan.
 */
async function testGate(): Promise<void> {
  const gate = process.env.PEER_AUDIT_FAULT_PLAN_GATE;
  if (!gate) return;
  await fs.writeFile(`${gate}.scanned`, '');
  while (!existsSync(gate)) await new Promise((r) => setTimeout(r, 20));
}

export async function repairCommand(a: RepairArgs, chalk: ChalkInstance, notice: (m: string) => void): Promise<number> {
  if (a.apply && a.kvSnapshot)
    throw new UsageError(
      '--apply writes to the live bucket; it cannot be used with --kv-snapshot (drop --apply for a dry run)',
    );
  if (a.apply && !a.reason?.trim())
    throw new UsageError(
      '--reason is required with --apply: it is recorded in the journal and in every repaired value',
    );

  const { result, model } = await scanWithModel(a, notice);
  // The connection settings (NATS context files included), worked out once for every write below.
  let connectOptions: ReturnType<typeof kvOptions> | undefined;
  const kvo = () => (connectOptions ??= kvOptions(a));
  if (!result.complete) {
    for (const r of result.incompleteReasons) notice(`incomplete: ${r}`);
    notice('refusing to plan a repair on partial evidence');
    return 2;
  }
  const now = new Date().toISOString();
  await testGate();
  const selection = { rules: a.rule, spec: a.spec, cycle: a.cycle };
  const plan = await planRepair({ result, model }, { ...selection, reason: a.reason, now });
  const selected = plan.findings;
  // Said up front: a finding its rule would repair, but whose state no write can make right.
  const refused = new Map<string, string>();
  for (const { finding: f, why } of plan.refused) {
    const where =
      `${f.subject.keyPrefix ?? f.subject.spec ?? ''}` +
      `${f.subject.cycle !== undefined ? ` cycle ${f.subject.cycle}` : ''}`;
    const line = `not repairable: ${where}: ${why}`;
    refused.set(line, `${refused.get(line) ? `${refused.get(line)}, ` : ''}${f.ruleId}`);
  }

  if (a.apply && (await hasUnsettledJournals(model.projectRoot))) {
    // A repair that died mid-write left changes marked "applying": settle them first, so every journal says
    // for each change whether it is in place.
    const lines = await withKv(kvo(), (kv) =>
      settleEarlierJournals(model.projectRoot, { kv, projectRoot: model.projectRoot }),
    );
    for (const l of lines) notice(l);
  }
  // Temporary files of writes killed before their rename: settled once the journals are, before anything new.
  if (a.apply) for (const l of await removeLeftoverTemps(model.projectRoot)) notice(l);

  const out: string[] = [];
  for (const ch of plan.changes) out.push(renderChange(ch, model.bucket));
  for (const s of plan.skipped) out.push(chalk.yellow(escapeControl(`skipped ${s.target}: ${s.why}`)));
  for (const [line, rules] of refused) out.push(chalk.yellow(escapeControl(`${line} [${rules}]`)));
  const kvCount = plan.changes.filter((c) => c.kind === 'kv').length;
  const fileCount = plan.changes.length - kvCount;
  const counts =
    `${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'} ` +
    `(${kvCount} KV key${kvCount === 1 ? '' : 's'}, ${fileCount} file${fileCount === 1 ? '' : 's'})`;
  // Exit 1 whenever a matching finding stays unrepaired: a target skipped while planning, or a state no write can fix.
  const notMade = plan.skipped.length > 0 || refused.size > 0;
  if (plan.changes.length === 0) {
    const detail = selected.length
      ? ''
      : refused.size
        ? ': what matches is not repairable (said above)'
        : ': no fixable finding matches';
    out.push(`Nothing to repair${detail}.`);
    await writeOutput(`${out.join('\n')}\n`);
    return notMade ? 1 : 0;
  }
  if (!a.apply) {
    out.push(chalk.bold(`Dry run: ${counts} planned; nothing was written. Apply with --apply --reason "…".`));
    await writeOutput(`${out.join('\n')}\n`);
    return notMade ? 1 : 0;
  }
  await writeOutput(`${out.join('\n')}\n`);
  if (!(await confirmWrite(`Apply ${counts}?`, a.yes))) {
    notice('nothing written');
    return 1;
  }

  // Earlier repairs are settled above, before the plan is shown: applyRepair finds nothing more to settle.
  const { journal, outcome } = await applyRepair(plan, {
    kv: kvo,
    onJournal: (file) => notice(`journal ${path.relative(process.cwd(), file) || file}`),
    onNotice: notice,
  });
  // A target skipped while planning (it changed since the scan) is a change not made, like a conflict.
  const skippedNote = plan.skipped.length
    ? `, skipped ${plan.skipped.length} (changed since the scan or unreadable; scan again)`
    : '';
  notice(
    `applied ${outcome.applied}, conflicts ${outcome.conflicts}, failed ${outcome.failed}${skippedNote}` +
      `${outcome.unknown ? `, unknown ${outcome.unknown} (run undo or repair again)` : ''}`,
  );
  for (const ch of journal.changes) if (ch.error) notice(`${ch.kind === 'kv' ? ch.key : ch.path}: ${ch.error}`);

  // Re-scan: the repaired findings should be gone. A rescan that could not read everything proves nothing.
  const after = (await scanWithModel(a, () => {})).result;
  const fixedIds = new Set(selected.map((f) => f.fingerprint));
  const remaining = after.findings.filter((f) => fixedIds.has(f.fingerprint) && f.severity !== 'info');
  if (!after.complete) notice(`rescan incomplete, the repair is not verified: ${after.incompleteReasons[0]}`);
  else
    notice(
      remaining.length
        ? `${remaining.length} repaired finding(s) still reported: ${remaining.map((f) => f.ruleId).join(', ')}`
        : 'rescan: the repaired findings are gone',
    );
  // A write whose outcome is unknown (NATS failed mid-write) is a target that could not be used: exit 2.
  if (outcome.unknown) return 2;
  return outcome.conflicts || outcome.failed || notMade ? 1 : 0;
}
