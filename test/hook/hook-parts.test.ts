// The parts of `peer-audit hook` that need no process: which runs a transcript names, which files a shell
// command writes, and the settings edits of install and uninstall.
import { describe, expect, it } from 'vitest';
import { filesWritten, namedRuns } from '../../src/commands/hook.js';
import { withHooks, withoutHooks, isPeerAuditHook } from '../../src/commands/hook-install.js';

describe('namedRuns', () => {
  it('finds spec names in keys, spec folders and --spec, most named first', () => {
    const text =
      '{"command":"nats kv get agent-os-peer-state peer.spec.alpha-api.cycle.1"}\n' +
      '{"text":"wrote .agent-os/specs/2025-08-05-alpha-api/spec.md and specs/2025-08-06-beta/x.md"}\n' +
      '{"text":"/peer --instruction=create-spec --spec=gamma-9 and peer.spec.alpha-api.meta"}\n' +
      '{"command":"key=peer.instruction.analyze-product.cycle.1; echo peer.spec.${spec_name}.meta"}';
    expect(namedRuns(Buffer.from(text))).toEqual({
      specs: ['alpha-api', 'beta', 'gamma-9'],
      instructions: ['analyze-product'],
    });
  });

  it('finds nothing in a session that names no run', () => {
    expect(namedRuns(Buffer.from('{"text":"specs/notes.md peer.spec."}'))).toEqual({ specs: [], instructions: [] });
  });
});

describe('filesWritten', () => {
  it.each([
    ["cat > .agent-os/specs/x/spec.md << 'EOF'\n# x\nEOF", ['.agent-os/specs/x/spec.md']],
    ['echo hi >> "notes/a b.md"', ['notes/a b.md']],
    ['echo x | tee -a .agent-os/product/roadmap.md', ['.agent-os/product/roadmap.md']],
    ['cmd > /dev/null 2>&1', []],
    ['ls -la', []],
    ['[ 1 -gt 0 ] && echo yes', []],
  ])('%s', (command, files) => {
    expect(filesWritten(command)).toEqual(files);
  });
});

describe('settings edits', () => {
  const ours = { type: 'command', command: 'node /opt/peer-audit/bin/peer-audit.js hook' };
  it('adds each event once; a second install is the same object', () => {
    const once = withHooks({ model: 'x' }, ['stop', 'post-tool-use'], ours.command);
    expect(once).toEqual({
      model: 'x',
      hooks: {
        Stop: [{ hooks: [ours] }],
        PostToolUse: [{ matcher: 'Write|Edit|MultiEdit|Bash', hooks: [ours] }],
      },
    });
    expect(withHooks(once, ['stop', 'post-tool-use'], ours.command)).toEqual(once);
  });

  it('replaces an entry of its own with another command, and removes only its own', () => {
    const theirs = { type: 'command', command: 'say done' };
    const settings = { hooks: { Stop: [{ hooks: [theirs, { type: 'command', command: 'npx peer-audit hook' }] }] } };
    const next = withHooks(settings, ['stop'], ours.command);
    expect(next).toEqual({ hooks: { Stop: [{ hooks: [theirs] }, { hooks: [ours] }] } });
    expect(withoutHooks(next)).toEqual({ hooks: { Stop: [{ hooks: [theirs] }] } });
    expect(withoutHooks({ hooks: { Stop: [{ hooks: [ours] }] } })).toEqual({});
  });

  it('recognises its commands', () => {
    expect(isPeerAuditHook('npx peer-audit hook')).toBe(true);
    expect(isPeerAuditHook('/usr/bin/pa hook # peer-audit hook')).toBe(true);
    expect(isPeerAuditHook('peer-audit scan')).toBe(false);
    expect(isPeerAuditHook('my-hook')).toBe(false);
  });
});
