import path from 'node:path';
import { loadJournal } from '../repair/journal.js';
import { removeLeftoverTemps, undoJournal } from '../repair/apply.js';
import { withKv } from '../repair/connect.js';
import { confirmWrite } from './confirm.js';
import { SourceFailure } from '../errors.js';
import { kvOptions, type ConnectArgs } from './options.js';

export async function undoCommand(
  a: ConnectArgs & { journal: string; yes: boolean },
  notice: (m: string) => void,
): Promise<number> {
  const file = path.resolve(a.journal);
  const journal = await loadJournal(file).catch((e: unknown) => {
    throw new SourceFailure((e as Error).message);
  });
  const todo = journal.changes.filter(
    (c) => c.status === 'applied' || c.status === 'applying' || c.status === 'planned',
  );
  // Temporary files of writes killed before their rename are never the file in place: they go first.
  const removeLeftovers = async () => {
    for (const l of await removeLeftoverTemps(journal.projectRoot, [journal])) notice(l);
  };
  if (todo.length === 0) {
    await removeLeftovers();
    notice(`journal ${journal.id}: nothing to undo`);
    return 0;
  }
  if (
    !(await confirmWrite(
      `Undo ${todo.length} change(s) of ${journal.command} ${journal.id} (${journal.reason})?`,
      a.yes,
    ))
  ) {
    notice('nothing written');
    return 1;
  }
  await removeLeftovers();
  const hasKv = journal.changes.some((c) => c.kind === 'kv');
  // The bucket is the one the journal wrote to; the server defaults to the flags, then the journal's.
  const server = a.server ?? process.env.NATS_URL ?? journal.server ?? undefined;
  const opts = hasKv ? kvOptions({ ...a, server, bucket: journal.bucket }) : undefined;
  const outcome = await withKv(opts, (kv) => undoJournal(journal, file, { kv, projectRoot: journal.projectRoot }));
  for (const ch of journal.changes) if (ch.error) notice(`${ch.kind === 'kv' ? ch.key : ch.path}: ${ch.error}`);
  notice(`undone ${outcome.undone}, left as they are ${outcome.conflicts}`);
  return outcome.conflicts ? 1 : 0;
}
