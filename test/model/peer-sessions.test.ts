// Which state operations and sessions are PEER's: the nats CLI as people type it, and the sessions of a project
// that are not PEER runs at all.
import { describe, expect, it } from 'vitest';
import { classifyStateCommand, type StateOp } from '../../src/model/log-facts.js';
import { isPeerSession, isPeerStateOp } from '../../src/model/peer-sessions.js';
import type { LogSession, TextEvent } from '../../src/model/types.js';

describe('classifyStateCommand: global flags before kv, flags with values after the verb', () => {
  it.each([
    [
      'nats kv get agent-os-peer-state peer.spec.a.meta --raw',
      'read',
      'nats kv get',
      'agent-os-peer-state',
      'peer.spec.a.meta',
    ],
    [
      'nats --server nats://127.0.0.1:4222 kv get agent-os-peer-state peer.spec.a.meta',
      'read',
      'nats kv get',
      'agent-os-peer-state',
      'peer.spec.a.meta',
    ],
    [
      'nats -s nats://h:4222 --creds /k/peer.creds kv put agent-os-peer-state "peer.spec.a.cycle.1" "$STATE"',
      'write',
      'nats kv put',
      'agent-os-peer-state',
      'peer.spec.a.cycle.1',
    ],
    [
      'nats --context prod kv update agent-os-peer-state "$STATE_KEY" "$NEW" "$REV"',
      'write',
      'nats kv update',
      'agent-os-peer-state',
      '$STATE_KEY',
    ],
    [
      'nats --context=prod --trace kv get agent-os-peer-state peer.spec.a.meta',
      'read',
      'nats kv get',
      'agent-os-peer-state',
      'peer.spec.a.meta',
    ],
    [
      "/usr/local/bin/nats --server='nats://h:4222' --tlsfirst kv create agent-os-peer-state peer.spec.a.cycle.2",
      'write',
      'nats kv create',
      'agent-os-peer-state',
      'peer.spec.a.cycle.2',
    ],
    [
      'nats kv get --server nats://h:4222 --revision 4 agent-os-peer-state peer.spec.a.meta',
      'read',
      'nats kv get',
      'agent-os-peer-state',
      'peer.spec.a.meta',
    ],
    [
      'nats -s nats://h kv get agent-os-peer-state peer.spec.a.meta --raw | jq .x | nats -s nats://h kv put agent-os-peer-state peer.spec.a.meta',
      'write',
      'nats kv put',
      'agent-os-peer-state',
      'peer.spec.a.meta',
    ],
  ])('%s', (cmd, kind, verb, bucket, key) => {
    expect(classifyStateCommand(cmd)).toEqual({ kind, verb, bucket, rawKey: key });
  });

  it('other nats commands and look-alikes are no state operation', () => {
    for (const cmd of [
      'nats --server nats://h:4222 stream ls',
      'nats-server -js',
      'echo nats kv is great',
      'nats sub "peer.>"',
      'nats --context prod account info',
    ]) {
      expect(classifyStateCommand(cmd), cmd).toBeUndefined();
    }
  });
});

const op = (cmd: string): StateOp => {
  const c = classifyStateCommand(cmd)!;
  return {
    call: { kind: 'tool', id: 't', name: 'Bash', command: cmd, input: {}, actor: 'main', ref: { path: 'x', line: 1 } },
    kind: c.kind,
    verb: c.verb,
    rawKey: c.rawKey,
    bucket: c.bucket,
    failed: false,
  };
};

describe('isPeerStateOp', () => {
  it('the PEER bucket, the scanned bucket, PEER keys and PEER scripts are PEER state', () => {
    expect(isPeerStateOp(op('nats -s nats://h kv get agent-os-peer-state anything'))).toBe(true);
    expect(isPeerStateOp(op('nats kv get team-peer peer.spec.a.meta'))).toBe(true);
    expect(isPeerStateOp(op('nats kv get my-bucket "${key_prefix}.meta"'))).toBe(true);
    expect(isPeerStateOp(op('nats kv get my-bucket x.y'), 'my-bucket')).toBe(true);
    expect(isPeerStateOp(op('nats kv get "$PEER_BUCKET" "$KEY"'))).toBe(true);
    expect(isPeerStateOp(op('~/.agent-os/scripts/peer/read-state.sh "$STATE_KEY"'))).toBe(true);
  });
  it("a project's own use of NATS KV is not", () => {
    expect(isPeerStateOp(op('nats --server nats://127.0.0.1:4222 kv get config app.settings --raw'))).toBe(false);
    expect(isPeerStateOp(op('nats -s nats://h kv ls'))).toBe(false);
    expect(isPeerStateOp(op('nats kv put "$BUCKET" "$KEY" 1'))).toBe(false);
  });
});

describe('isPeerSession: a /peer command, not a sentence about one', () => {
  const session = (...texts: string[]): LogSession => ({
    sessionId: `s-${texts.join('|').length}-${Math.random()}`,
    format: 'transcript',
    mainFile: 'a.jsonl',
    files: ['a.jsonl'],
    corrupt: [],
    events: texts.map((text, i): TextEvent => ({
      kind: 'text',
      role: 'user',
      human: true,
      text,
      actor: 'main',
      ref: { path: 'a.jsonl', line: i + 1 },
    })),
  });
  it.each([
    [
      '<command-message>peer is running…</command-message>\n<command-name>/peer</command-name>\n<command-args>--spec=x</command-args>',
      true,
    ],
    ['<command-name>peer</command-name>', true],
    ['/peer --instruction=create-spec', true],
    ['  /peer', true],
    ['I rewrote the docs of the /peer command yesterday', false],
    ['can you do a peer review of my PR?', false],
    ['look at src/peer/index.ts', false],
    ['/peer-review is not a command here', false],
  ])('%s → %s', (text, peer) => {
    expect(isPeerSession(session(text))).toBe(peer);
  });
});
