import readline from 'node:readline/promises';
import { UsageError } from '../errors.js';
import { escapeControl } from '../model/text.js';

/**
 * Asks once on a terminal; `--yes` answers for scripts. With no terminal and no --yes, writing is refused:
 * a pipeline must say so explicitly.
 */
export async function confirmWrite(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError('refusing to write without confirmation: there is no terminal to ask on; pass --yes');
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${escapeControl(question)} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
