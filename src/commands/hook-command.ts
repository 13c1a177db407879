// `peer-audit hook` (judge one Claude Code hook event from stdin), `hook install` and `hook uninstall` (its entries
// in Claude Code's settings.json).
import { activeConfig } from '../config/config.js';
import { defineCommand, type CliContext } from './cli-context.js';
import { connectionFlags, projectFlag } from './flag-groups.js';
import { connectArgs } from './options.js';
import { HOOK_EVENT_CHOICES, type HookEventChoice } from './hook-events.js';
import { UsageError } from '../errors.js';

/** The hook's connect and request timeout: a hook runs while the agent waits. */
export const HOOK_TIMEOUT_MS = 1500;
/** How long the hook waits for stdin to end (Claude Code writes the event and closes it at once). */
const STDIN_WAIT_MS = 3000;
/** Events are small; more than this on stdin is not one. */
const STDIN_MAX_BYTES = 1 << 20;

function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return Promise.resolve('');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      clearTimeout(timer);
      process.stdin.removeAllListeners('data');
      process.stdin.pause();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(done, STDIN_WAIT_MS);
    process.stdin.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= STDIN_MAX_BYTES) chunks.push(d);
      else done();
    });
    process.stdin.once('end', done);
    process.stdin.once('error', done);
  });
}

function eventList(v: unknown): HookEventChoice[] {
  const words = (Array.isArray(v) ? v : [v])
    .flatMap((x) => String(x).split(','))
    .map((x) => x.trim())
    .filter(Boolean);
  for (const w of words)
    if (!HOOK_EVENT_CHOICES.includes(w as HookEventChoice))
      throw new UsageError(`--events: unknown event "${w}" (choose from ${HOOK_EVENT_CHOICES.join(', ')})`);
  return [...new Set(words)] as HookEventChoice[];
}

const installFlags = {
  scope: {
    choices: ['project', 'user'] as const,
    default: 'project' as const,
    describe: 'project: <project>/.claude/settings.json; user: ~/.claude/settings.json',
  },
  project: { ...projectFlag, describe: 'Project root (for --scope project)' },
};

export const hookCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'hook',
    describe: 'Judge one Claude Code hook event (JSON on stdin): block a run that is about to finish with errors',
    builder: (y) =>
      connectionFlags(y)
        .option('timeout', {
          type: 'number',
          default: HOOK_TIMEOUT_MS,
          describe: 'NATS connect and request timeout in ms (short: the agent waits for the hook)',
        })
        .option('kv-snapshot', {
          type: 'string',
          describe: 'Judge against a KV snapshot file (from `peer-audit snapshot`) instead of a live server',
        })
        .option('kv', { type: 'boolean', default: true, describe: 'Read NATS KV state (--no-kv: files and logs only)' })
        .option('max-blocks', {
          type: 'number',
          default: 2,
          describe: 'Block a session at most this many times (counted in <project>/.peer-audit/hook-state.json)',
        })
        .option('now', { type: 'string', describe: 'Judge age-based rules as of this ISO time (default: now)' })
        .command({
          command: 'install',
          describe: "Add peer-audit's hook entries to Claude Code's settings.json (idempotent; shows the diff)",
          builder: (i) =>
            i
              .option('scope', installFlags.scope)
              .option('project', installFlags.project)
              .option('events', {
                type: 'string',
                default: HOOK_EVENT_CHOICES.join(','),
                describe: `Events to hook, comma-separated: ${HOOK_EVENT_CHOICES.join(', ')}`,
              })
              .option('command', {
                type: 'string',
                describe: 'Command the entries run (default: node <this install>/bin/peer-audit.js hook)',
              }),
          handler: async (a) => {
            const { installHooks } = await import('./hook-install.js');
            const r = await installHooks({
              scope: a.scope as 'project' | 'user',
              project: a.project as string,
              events: eventList(a.events),
              command: a.command as string | undefined,
            });
            report(cli, r, 'installed');
          },
        })
        .command({
          command: 'uninstall',
          describe: "Take peer-audit's hook entries out of Claude Code's settings.json (other hooks are kept)",
          builder: (i) => i.option('scope', installFlags.scope).option('project', installFlags.project),
          handler: async (a) => {
            const { uninstallHooks } = await import('./hook-install.js');
            const r = await uninstallHooks({ scope: a.scope as 'project' | 'user', project: a.project as string });
            report(cli, r, 'uninstalled');
          },
        })
        .example('$0 hook install', 'Hook Stop, SubagentStop and PostToolUse in this project')
        .example('$0 hook install --scope user --command "npx peer-audit hook"', 'For every project of this user')
        .example('$0 hook --kv-snapshot kv.jsonl < event.json', 'Judge one recorded event offline'),
    handler: async (a) => {
      const { runHook } = await import('./hook.js');
      const maxBlocks = a['max-blocks'];
      const answer = await runHook(
        {
          ...connectArgs(a),
          kvSnapshot: a['kv-snapshot'],
          useKv: a.kv,
          maxBlocks: Number.isInteger(maxBlocks) && maxBlocks >= 0 ? maxBlocks : 2,
          severities: activeConfig().severities,
          now: a.now,
        },
        await readStdin(),
      );
      if (answer) process.stdout.write(`${JSON.stringify(answer)}\n`);
      cli.exitCode = 0;
    },
  });

function report(cli: CliContext, r: { file: string; changed: boolean; diff: string; backup?: string }, what: string) {
  if (!r.changed) {
    cli.notice(`${r.file}: nothing to change (${what === 'installed' ? 'already installed' : 'no peer-audit hooks'})`);
    return;
  }
  process.stdout.write(r.diff);
  cli.notice(`${what}: ${r.file}${r.backup ? ` (previous file kept as ${r.backup})` : ''}`);
}
