// Secrets never leave peer-audit: each kind is masked in text, and a transcript holding one of each in its
// commands and tool results is scanned into every format without a single secret surviving.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Chalk } from 'chalk';
import { beforeAll, describe, expect, it } from 'vitest';
import { Transcript } from '../helpers/transcript.js';
import { runCli } from '../helpers/cli.js';
import { redactDeep, redactResult, redactText, redactTextEveryPattern } from '../../src/model/redact.js';
import fc from 'fast-check';
import { auditWithModel } from '../../src/audit.js';
import { withContext } from '../../src/report/runs.js';
import { REPORT_FORMATS, renderReport } from '../../src/report/format.js';
import { formatJson } from '../../src/report/json.js';
import { formatStylish } from '../../src/report/stylish.js';
import { formatSarif } from '../../src/report/sarif.js';
import { formatMarkdown } from '../../src/report/markdown.js';
import { loadRuleDocs } from '../../src/report/rule-docs.js';
import type { ScanResult } from '../../src/report/result.js';

// Made-up credentials of the right shapes. Each is the part that must never be printed.
const SEED_B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const S = {
  anthropic: 'sk-ant-api03-Q7vX2mK9pL4nR8sT1wY6zB3cD5fG0hJ-aBcDeFgHiJkLmNoP',
  openai: 'sk-proj-4fT9kLm2Qx8Rv1Zp7Wy3Nb6Hc0Jd5Ge9Sa',
  ghp: 'ghp_R4nd0mT0k3nV4lu3F0rT3st1ngAbCdEf0123',
  githubPat: 'github_pat_11ABCDEFG0123456789_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
  awsAccess: 'AKIAZ7Q3XK2M9P4L8N6B',
  awsSecret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE12',
  bearer: 'Zq8Lm3Rt9Xv2Np7Kw4Hy6Bd1',
  jwt: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJZT0RBM0tYWjJHTkEiLCJzdWIiOiJVQVNFQ1JFVCJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU',
  seed: `SU${SEED_B32}${SEED_B32.slice(0, 24)}`,
  urlPassword: 'Sup3rS3cr3tPw',
  jsonPassword: 'hunter2-Xq9v',
  jsonToken: 'tok_9f8e7d6c5b4a',
  jsonApiKey: 'ak-0123456789abcdef',
  envPassword: 'n4tsPassw0rd',
  envSecret: 'shh-env-secret-77aa',
  flagToken: 's3cr3t-fl4g-t0k3n',
};

const KV_KEY = 'peer.spec.demo-spec.cycle.1';
const SCRIPT = '~/.agent-os/scripts/peer/update-state.sh';

/** One failing PEER script call per secret: the secret in the command and in the error it printed. */
function secretTranscript(): Transcript {
  const t = new Transcript().human(
    `/peer --instruction=create-spec use ANTHROPIC_API_KEY=${S.anthropic} for the demo-spec`,
  );
  const calls: [string, string][] = [
    [`ANTHROPIC_API_KEY=${S.anthropic} ${SCRIPT} ${KV_KEY}`, `❌ Error: key sk-ant rejected: ${S.anthropic}`],
    [`OPENAI_KEY=${S.openai} ${SCRIPT} ${KV_KEY}`, `❌ Error: bad key ${S.openai}`],
    [`${SCRIPT} ${KV_KEY} --gh ${S.ghp}`, `❌ Error: github said no to ${S.ghp}`],
    [`${SCRIPT} ${KV_KEY} --pat ${S.githubPat}`, `❌ Error: token ${S.githubPat} expired`],
    [`AWS_ACCESS_KEY_ID=${S.awsAccess} ${SCRIPT} ${KV_KEY}`, `❌ Error: access key ${S.awsAccess} invalid`],
    [
      `AWS_SECRET_ACCESS_KEY=${S.awsSecret} ${SCRIPT} ${KV_KEY}`,
      `❌ Error: signature mismatch for secret ${S.awsSecret}`,
    ],
    [
      `curl -H "Authorization: Bearer ${S.bearer}" http://nats-admin/ && ${SCRIPT} ${KV_KEY}`,
      `❌ Error: 401 for Authorization: Bearer ${S.bearer}`,
    ],
    [`${SCRIPT} ${KV_KEY} --jwt ${S.jwt}`, `❌ Error: user JWT ${S.jwt} revoked`],
    [
      `NKEY_SEED=${S.seed} ${SCRIPT} ${KV_KEY}`,
      `❌ Error: -----BEGIN USER NKEY SEED-----\n${S.seed}\n------END USER NKEY SEED------`,
    ],
    [
      `${SCRIPT} ${KV_KEY} --server nats://peer:${S.urlPassword}@nats.internal:4222`,
      `❌ Error: nats: authorization violation on nats://peer:${S.urlPassword}@nats.internal:4222`,
    ],
    [
      `${SCRIPT} ${KV_KEY} '{"password":"${S.jsonPassword}","user":"peer"}'`,
      `❌ Error: rejected {"password":"${S.jsonPassword}","token":"${S.jsonToken}"}`,
    ],
    [`${SCRIPT} ${KV_KEY} '{"api_key":"${S.jsonApiKey}"}'`, `❌ Error: invalid {"api_key":"${S.jsonApiKey}"}`],
    [
      `NATS_PASSWORD=${S.envPassword} SECRET=${S.envSecret} ${SCRIPT} ${KV_KEY}`,
      `❌ Error: env NATS_PASSWORD=${S.envPassword} SECRET=${S.envSecret} refused`,
    ],
    [`${SCRIPT} ${KV_KEY} --token ${S.flagToken}`, `❌ Error: flag --token ${S.flagToken} refused`],
  ];
  calls.forEach(([cmd, out], i) => t.bash(`t${i + 1}`, cmd, out, true));
  return t.say('Done.');
}

let project: string;
let logs: string;
let raw: ScanResult;

beforeAll(async () => {
  project = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-secrets-'));
  logs = await secretTranscript().write(path.join(project, 'logs'));
  const { result, model } = await auditWithModel({ project, logs: [logs] });
  raw = withContext(result, model);
});

const leaks = (text: string) =>
  Object.entries(S)
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);

describe('redactText masks each kind of secret', () => {
  const CASES: [string, string, string][] = [
    ['Anthropic key', `key ${S.anthropic} here`, 'key [REDACTED:anthropic-key] here'],
    ['OpenAI-style key', `OPENAI ${S.openai}`, 'OPENAI [REDACTED:api-key]'],
    ['GitHub token', `t=${S.ghp}`, 't=[REDACTED:github-token]'],
    ['GitHub fine-grained token', S.githubPat, '[REDACTED:github-token]'],
    ['AWS access key id', `id ${S.awsAccess}.`, 'id [REDACTED:aws-access-key].'],
    ['AWS secret key, alone', `secret ${S.awsSecret}`, 'secret [REDACTED:aws-secret-key]'],
    ['AWS secret key, named', `aws_secret_access_key = ${S.awsSecret}`, 'aws_secret_access_key = [REDACTED:secret]'],
    ['bearer token', `Authorization: Bearer ${S.bearer}`, 'Authorization: Bearer [REDACTED:bearer-token]'],
    ['NATS JWT', `jwt ${S.jwt} end`, 'jwt [REDACTED:jwt] end'],
    ['NATS JWT cut off in an excerpt', `${S.jwt.slice(0, 40)}…`, '[REDACTED:jwt]…'],
    ['nkey seed', `seed ${S.seed}`, 'seed [REDACTED:nkey-seed]'],
    [
      'creds file block',
      `-----BEGIN USER NKEY SEED-----\\n${S.seed}\\n------END USER NKEY SEED------`,
      '[REDACTED:private-key]',
    ],
    ['password in a URL', `nats://peer:${S.urlPassword}@host:4222`, 'nats://peer:[REDACTED:url-password]@host:4222'],
    ['token in a NATS URL', 'nats://s3cr3tT0ken99@host:4222', 'nats://[REDACTED:url-token]@host:4222'],
    [
      'JSON password field',
      `{"password":"${S.jsonPassword}","user":"peer"}`,
      '{"password":"[REDACTED:secret]","user":"peer"}',
    ],
    ['JSON field inside a JSON string', `{\\"token\\":\\"${S.jsonToken}\\"}`, '{\\"token\\":\\"[REDACTED:secret]\\"}'],
    ['pretty JSON api_key field', `"api_key": "${S.jsonApiKey}"`, '"api_key": "[REDACTED:secret]"'],
    ['env line', `export NATS_PASSWORD=${S.envPassword}`, 'export NATS_PASSWORD=[REDACTED:secret]'],
    ['quoted env value', `DB_PASS="${S.envPassword} x"`, 'DB_PASS=[REDACTED:secret]'],
    ['command-line flag', `nats --password ${S.flagToken} kv ls`, 'nats --password [REDACTED:secret] kv ls'],
    ['a key cut off at the end of an excerpt', `token ${S.ghp.slice(0, 12)}…`, 'token [REDACTED:cut-off-secret]…'],
    [
      'a JSON password cut off at the end of an excerpt',
      `{"user":"peer","password":"${S.jsonPassword.slice(0, 5)}…`,
      '{"user":"peer","password":"[REDACTED:secret]…',
    ],
    [
      'a URL password cut off at the end of an excerpt',
      `nats://peer:${S.urlPassword.slice(0, 6)}…`,
      'nats://peer:[REDACTED:url-password]…',
    ],
    [
      'secret right after an escaped newline or colour code',
      `\\n${S.ghp} \\x1b[31m${S.anthropic}`,
      '\\n[REDACTED:github-token] \\x1b[31m[REDACTED:anthropic-key]',
    ],
  ];
  for (const [what, input, expected] of CASES) {
    it(what, () => {
      const r = redactText(input);
      expect(r.text).toBe(expected);
      expect(r.count).toBeGreaterThan(0);
      expect(redactText(r.text)).toEqual({ text: r.text, count: 0 });
    });
  }

  it('leaves look-alikes alone: prose, paths, hashes, token counts, variable references', () => {
    for (const s of [
      'Token validation failed; retry later',
      'task-runner-configuration-for-the-wal-template',
      'key_prefix=peer.spec.wal-operation-handling-fix current_cycle=1',
      'git 3f9a1c0e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a',
      '"output_tokens":51, "max_tokens": 100, "spec_name":"wal"',
      'NATS_PASSWORD=$NATS_PASSWORD nats kv ls',
      '.agent-os/specs/2025-08-05-wal-operation-handling-fix/sub-specs/technical-spec.md',
      'https://github.com/nats-io/nats-server/releases',
      '✅ PEER cycle 1 completed successfully',
      'SUCCESSFUL…',
      'the task-runner…',
      '"status":"complete","notes":"Execute phase missing…',
    ]) {
      expect(redactText(s)).toEqual({ text: s, count: 0 });
    }
  });
});

describe('no secret from a transcript survives into any format', () => {
  it('the unmasked result does hold every secret (so the check below means something)', async () => {
    const rules = await loadRuleDocs();
    const all = [
      formatJson(raw),
      formatStylish(raw, { chalk: new Chalk({ level: 0 }) }),
      formatSarif(raw, { rules }),
      formatMarkdown(raw, { rules }),
    ].join('\n');
    expect(leaks(all).sort()).toEqual(Object.keys(S).sort());
    // And each format on its own holds the secrets of the failed calls.
    for (const text of [
      formatStylish(raw, { chalk: new Chalk({ level: 0 }) }),
      formatSarif(raw, { rules }),
      formatMarkdown(raw, { rules }),
    ]) {
      expect(leaks(text)).toEqual(
        expect.arrayContaining([
          'anthropic',
          'ghp',
          'awsAccess',
          'jwt',
          'seed',
          'urlPassword',
          'jsonPassword',
          'envPassword',
          'flagToken',
        ]),
      );
    }
  });

  for (const format of REPORT_FORMATS) {
    it(`${format}: every secret masked`, async () => {
      const text = await renderReport(raw, format);
      expect(leaks(text)).toEqual([]);
      expect(text).toContain('[REDACTED:');
    });
  }

  it('the JSON says what was masked: redacted on the evidence and a count in the summary', async () => {
    const json = JSON.parse(await renderReport(raw, 'json')) as ScanResult;
    expect(json.summary.redacted).toBeGreaterThanOrEqual(Object.keys(S).length);
    const flagged = json.findings.flatMap((f) => f.evidence).filter((e) => e.redacted);
    expect(flagged.length).toBeGreaterThanOrEqual(14);
    expect(flagged.every((e) => /\[REDACTED:/.test(`${e.excerpt} ${e.note ?? ''}`))).toBe(true);
    const clean = json.findings.flatMap((f) => f.evidence).filter((e) => !e.redacted);
    expect(clean.every((e) => !/\[REDACTED:/.test(e.excerpt))).toBe(true);
    const run = json.runs!.items.find((r) => r.sessions.length > 0)!;
    expect(run.request?.text).toBe(
      '/peer --instruction=create-spec use ANTHROPIC_API_KEY=[REDACTED:anthropic-key] for the demo-spec',
    );
    expect(run.request?.redacted).toBe(true);
    // Masking twice changes nothing: the count stays.
    expect(redactResult(json)).toEqual(json);
  });

  for (const format of REPORT_FORMATS) {
    it(`the CLI (scan --format ${format}) prints no secret, on stdout or stderr`, async () => {
      const r = await runCli(['scan', '--no-kv', '--logs', logs, '--format', format], { cwd: project });
      expect(r.code).toBe(1);
      expect(leaks(r.stdout + r.stderr)).toEqual([]);
      expect(r.stdout).toContain('[REDACTED:');
    });
  }

  it('the CLI report (Markdown) prints no secret', async () => {
    const r = await runCli(['report', '--no-kv', '--logs', logs], { cwd: project });
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
    expect(r.stdout).toMatch(/\d+ secrets were masked/);
  });

  it('a saved scan holding secrets (written by an older version) is masked when rendered', async () => {
    const file = path.join(project, 'old-scan.json');
    await fs.writeFile(file, formatJson(raw));
    for (const format of REPORT_FORMATS) {
      const r = await runCli(['report', '--from', file, '--format', format]);
      expect(leaks(r.stdout + r.stderr), format).toEqual([]);
    }
  });
});

describe('the cheap tests that skip patterns', () => {
  it('never change what is masked', () => {
    const pieces = [
      'password',
      'PASSWORD',
      'token',
      'Token',
      'Bearer ',
      'Basic ',
      'api_key',
      'x-auth-token',
      'cookie',
      '"',
      '\\"',
      ':',
      ': ',
      '=',
      ' ',
      '\n',
      '\\n',
      'sk-ant-',
      'sk-proj-',
      'ghp_',
      'github_pat_',
      'AKIA',
      'eyJ',
      'SU',
      'SA',
      '-----BEGIN ',
      'PRIVATE KEY-----',
      '-----END KEY-----',
      'nats://',
      'https://',
      'user',
      '@',
      'host',
      '…',
      '--password ',
      '--token=',
      'export ',
      'ABCDEFGHIJKLMNOP',
      'abcdefghij',
      '0123456789',
      '/',
      '+',
      'QRSTUVWXYZ234567',
      'a1B2c3D4e5',
      '$',
      "'",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) => {
        const s = parts.join('');
        expect(redactText(s)).toEqual(redactTextEveryPattern(s));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('short strings', () => {
  it('a secret of five characters is still masked, in every place it occurs', () => {
    const { value, count } = redactDeep({ a: 'pwd=x', b: ['pwd=x', { location: {}, c: 'pwd=x' }] });
    expect(value).toEqual({
      a: `pwd=${'[REDACTED:secret]'}`,
      b: [`pwd=${'[REDACTED:secret]'}`, { location: {}, c: `pwd=${'[REDACTED:secret]'}`, redacted: true }],
    });
    expect(count).toBe(3);
  });
});

describe('strings shorter than five characters', () => {
  it('hold no secret any pattern masks (they are skipped)', () => {
    const chars = [...'pwdPWD=:"\' -_.@/+eyJSkKAtoken0123456789…\\n'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 4 }), (cs) => {
        expect(redactTextEveryPattern(cs.join('')).count).toBe(0);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('masking shares what held no secret', () => {
  it('leaves the input unchanged, copies only the parts that held a secret, and marks them', () => {
    const clean = { location: { kind: 'log', path: 'a.jsonl', line: 1 }, excerpt: 'nothing here' };
    const dirty = { location: { kind: 'log', path: 'a.jsonl', line: 2 }, excerpt: `token ${S.ghp}` };
    const input = {
      summary: { errors: 1, warnings: 0, infos: 0, redacted: 2 },
      findings: [{ evidence: [clean, dirty] }],
    } as unknown as ScanResult;
    const before = JSON.stringify(input);
    const out = redactResult(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(out).not.toBe(input);
    expect(out.summary.redacted).toBe(3);
    const ev = (out.findings[0] as unknown as { evidence: Array<Record<string, unknown>> }).evidence;
    expect(ev[0]).toBe(clean);
    expect(ev[1]).toEqual({ ...dirty, excerpt: 'token [REDACTED:github-token]', redacted: true });
    // Masking a clean result twice changes nothing and still returns a new top-level object.
    const again = redactResult({
      summary: { errors: 0, warnings: 0, infos: 0, redacted: 1 },
      findings: [],
    } as unknown as ScanResult);
    expect(again.summary.redacted).toBe(1);
  });
});
