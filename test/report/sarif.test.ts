// SARIF output: valid against the official SARIF 2.1.0 schema, and meeting what GitHub code scanning requires
// beyond the schema (a physical location on every result, rule metadata, stable fingerprints).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import type { Finding } from '../../src/model/types.js';
import { loadSarifSchema } from '../helpers/sarif-schema.js';

const INCIDENTS = path.join(REPO, 'fixtures/incidents');

interface SarifLog {
  $schema: string;
  version: string;
  runs: {
    tool: {
      driver: {
        name: string;
        rules: {
          id: string;
          name: string;
          shortDescription: { text: string };
          fullDescription: { text: string };
          help: { text: string; markdown: string };
          defaultConfiguration: { level: string };
        }[];
      };
    };
    invocations: {
      executionSuccessful: boolean;
      toolExecutionNotifications?: { level: string; message: { text: string } }[];
    }[];
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations: {
        physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
        logicalLocations?: { name: string; kind: string }[];
      }[];
      partialFingerprints: Record<string, string>;
      properties: { fingerprint: string; kv?: { key: string; revision: number }[] };
    }[];
  }[];
}

let validate: ValidateFunction;

beforeAll(async () => {
  const loaded = await loadSarifSchema();
  const schema = loaded.schema;
  expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
  expect(schema.title).toMatch(/SARIF\) Version 2\.1\.0/);
  expect(JSON.stringify(schema)).not.toMatch(/"exclusive(Minimum|Maximum)"/);
  validate = loaded.validate;
});

async function sarifOf(fixture: string, logs = 'logs') {
  const cwd = path.join(INCIDENTS, fixture);
  const args = ['scan', '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', logs, '--now', '2025-08-25T00:00:00Z'];
  const r = await runCli([...args, '--format', 'sarif'], { cwd });
  const j = await runCli([...args, '--format', 'json'], { cwd });
  expect(r.stdout, r.stderr).not.toBe('');
  return {
    ...r,
    sarif: JSON.parse(r.stdout) as SarifLog,
    scan: JSON.parse(j.stdout) as { complete: boolean; findings: Finding[] },
  };
}

function schemaErrors(doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** What GitHub code scanning checks beyond the schema (its SARIF support page, and upload rejections seen in the wild). */
function githubProblems(log: SarifLog): string[] {
  const out: string[] = [];
  if (!log.$schema) out.push('no $schema');
  for (const run of log.runs) {
    const rules = run.tool.driver.rules;
    if (!run.tool.driver.name) out.push('no tool.driver.name');
    for (const r of rules) {
      if (!r.id || !r.shortDescription?.text || !r.fullDescription?.text || !r.help?.text)
        out.push(`rule ${r.id}: id, shortDescription, fullDescription and help are required`);
      if (!['none', 'note', 'warning', 'error'].includes(r.defaultConfiguration?.level))
        out.push(`rule ${r.id}: no defaultConfiguration.level`);
    }
    run.results.forEach((res, i) => {
      const where = `result ${i} (${res.ruleId})`;
      if (!res.message?.text) out.push(`${where}: no message.text`);
      if (rules[res.ruleIndex]?.id !== res.ruleId) out.push(`${where}: ruleIndex does not point at its rule`);
      const loc = res.locations?.[0]?.physicalLocation;
      if (!loc) return out.push(`${where}: no physical location (GitHub rejects the whole file)`);
      const uri = loc.artifactLocation?.uri;
      if (!uri || /^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('/') || uri.split('/').includes('..'))
        out.push(`${where}: uri ${uri} is not a relative path in the repository`);
      if (!(loc.region?.startLine >= 1)) out.push(`${where}: no region.startLine`);
      if (res.locations.length > 10) out.push(`${where}: more than 10 locations`);
      if (!res.partialFingerprints?.primaryLocationLineHash)
        out.push(`${where}: no partialFingerprints.primaryLocationLineHash`);
    });
    const hashes = run.results.map((r) => r.partialFingerprints?.primaryLocationLineHash);
    if (new Set(hashes).size !== hashes.length)
      out.push('two results share a fingerprint: GitHub would merge them into one alert');
  }
  return out;
}

describe('SARIF 2.1.0 output (scan --format sarif)', () => {
  for (const fixture of [
    'wal-operation-handling-fix',
    'v2-skipped-execute',
    'v2-review-rewrite',
    'healthy-v1',
    'healthy-v2',
  ]) {
    it(`${fixture}: valid against the official schema, and every result has what GitHub requires`, async () => {
      const { sarif, scan, stderr } = await sarifOf(fixture);
      expect(stderr).toBe('');
      expect(schemaErrors(sarif)).toEqual([]);
      expect(githubProblems(sarif)).toEqual([]);
      const run = sarif.runs[0];
      expect(run.results).toHaveLength(scan.findings.length);
      // One result per finding, same fingerprint, same level.
      const level = { error: 'error', warning: 'warning', info: 'note' } as const;
      expect(run.results.map((r) => `${r.ruleId} ${r.level} ${r.properties.fingerprint}`).sort()).toEqual(
        scan.findings.map((f) => `${f.ruleId} ${level[f.severity]} ${f.fingerprint}`).sort(),
      );
      expect(run.invocations[0].executionSuccessful).toBe(scan.complete);
    });
  }

  it('describes every rule with the rule docs: id, name, summary, description, help (markdown), default level', async () => {
    const { sarif } = await sarifOf('wal-operation-handling-fix');
    const rules = sarif.runs[0].tool.driver.rules;
    const ids = (await fs.readdir(path.join(REPO, 'rules')))
      .filter((f) => f.endsWith('.md'))
      .map((f) => f.slice(0, -3))
      .sort();
    expect(rules.map((r) => r.id).sort()).toEqual(ids);
    const r = rules.find((x) => x.id === 'missing-execute-phase')!;
    expect(r.name).toBe('MissingExecutePhase');
    expect(r.shortDescription.text).toMatch(/^A cycle went past execute/);
    expect(r.defaultConfiguration.level).toBe('error');
    expect(r.help.markdown).toMatch(/### What to do\n\nLook at the execute entry/);
    expect(rules.find((x) => x.id === 'malformed-log')!.defaultConfiguration.level).toBe('warning');
    expect((r as unknown as { properties: { docPath: string } }).properties.docPath).toBe(
      'rules/missing-execute-phase.md',
    );
  });

  it('anchors KV findings to the spec file they concern, with the key as a logical location and in properties', async () => {
    const { sarif } = await sarifOf('wal-operation-handling-fix');
    const inc = sarif.runs[0].results.filter((r) => r.ruleId === 'state-inconsistency');
    expect(inc).toHaveLength(2);
    for (const r of inc) {
      expect(r.locations[0].physicalLocation.artifactLocation.uri).toBe(
        '.agent-os/specs/2025-08-05-wal-operation-handling-fix/spec.md',
      );
      expect(r.locations[0].physicalLocation.region.startLine).toBe(1);
      expect(r.locations[0].logicalLocations?.map((l) => `${l.kind} ${l.name}`)).toContain(
        'resource peer.spec.wal-operation-handling-fix.meta',
      );
      expect(r.properties.kv?.map((k) => `${k.key}@${k.revision}`)).toContain(
        'peer.spec.wal-operation-handling-fix.meta@10',
      );
    }
    // Two KV findings on the same anchor line keep apart: their fingerprints come from rule and target.
    expect(inc[0].partialFingerprints.primaryLocationLineHash).not.toBe(
      inc[1].partialFingerprints.primaryLocationLineHash,
    );
    const heredoc = sarif.runs[0].results
      .filter((r) => r.ruleId === 'heredoc-artifact')
      .map(
        (r) =>
          `${r.locations[0].physicalLocation.artifactLocation.uri}:${r.locations[0].physicalLocation.region.startLine}`,
      );
    expect(heredoc.sort()).toEqual([
      '.agent-os/specs/2025-08-05-wal-operation-handling-fix/spec.md:42',
      '.agent-os/specs/2025-08-05-wal-operation-handling-fix/sub-specs/technical-spec.md:14',
    ]);
  });

  it('keeps every result anchored inside the project when the transcripts live outside it (Claude Code’s log folder)', async () => {
    const logs = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-claude-logs-'));
    await fs.cp(path.join(INCIDENTS, 'wal-operation-handling-fix/logs'), logs, { recursive: true });
    const { sarif } = await sarifOf('wal-operation-handling-fix', logs);
    expect(schemaErrors(sarif)).toEqual([]);
    expect(githubProblems(sarif)).toEqual([]);
    const uris = new Set(sarif.runs[0].results.map((r) => r.locations[0].physicalLocation.artifactLocation.uri));
    for (const u of uris) expect(u).toMatch(/^\.agent-os\/specs\/|^kv-snapshot\.jsonl$/);
    const session = sarif.runs[0].results.find((r) => r.ruleId === 'malformed-log')!;
    expect(session.locations[0].physicalLocation.artifactLocation.uri).toMatch(
      /^\.agent-os\/specs\/2025-08-05-wal-operation-handling-fix\//,
    );
  });

  it('gives the same fingerprints on every run, so alerts neither merge nor duplicate', async () => {
    const a = await sarifOf('v2-review-rewrite');
    const b = await sarifOf('v2-review-rewrite');
    const fp = (s: SarifLog) =>
      s.runs[0].results
        .map(
          (r) =>
            `${r.ruleId} ${r.partialFingerprints.primaryLocationLineHash} ${r.partialFingerprints['peerAudit/v1']}`,
        )
        .sort();
    expect(fp(a.sarif)).toEqual(fp(b.sarif));
    expect(fp(a.sarif).length).toBeGreaterThan(5);
  });

  it('an incomplete scan says so: executionSuccessful false, a notification for each source that could not be read', async () => {
    const r = await runCli(['scan', '--format', 'sarif', '--kv-snapshot', 'missing.jsonl', '--logs', 'logs'], {
      cwd: path.join(INCIDENTS, 'wal-operation-handling-fix'),
    });
    expect(r.code).toBe(2);
    const sarif = JSON.parse(r.stdout) as SarifLog;
    expect(schemaErrors(sarif)).toEqual([]);
    expect(githubProblems(sarif)).toEqual([]);
    const inv = sarif.runs[0].invocations[0];
    expect(inv.executionSuccessful).toBe(false);
    expect(
      inv.toolExecutionNotifications
        ?.filter((n) => n.level === 'error')
        .map((n) => n.message.text)
        .join('\n'),
    ).toMatch(/missing\.jsonl/);
    expect(
      inv.toolExecutionNotifications?.some(
        (n) => n.level === 'warning' && /:188: cut-off last line/.test(n.message.text),
      ),
    ).toBe(true);
  });

  it('report --from a saved scan converts it to SARIF too', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pa-sarif-'));
    const scan = path.join(dir, 'scan.json');
    await runCli(['scan', '--format', 'json', '-o', scan, '--kv-snapshot', 'kv-snapshot.jsonl', '--logs', 'logs'], {
      cwd: path.join(INCIDENTS, 'wal-operation-handling-fix'),
    });
    const r = await runCli(['report', '--from', scan, '--format', 'sarif']);
    const sarif = JSON.parse(r.stdout) as SarifLog;
    expect(schemaErrors(sarif)).toEqual([]);
    expect(githubProblems(sarif)).toEqual([]);
    expect(sarif.runs[0].results).toHaveLength(17);
  });

  it('the schema check itself can fail: a wrong version, an unknown level', () => {
    const bad = {
      version: '2.0.0',
      runs: [{ tool: { driver: { name: 'x' } }, results: [{ level: 'fatal', message: { text: 'm' } }] }],
    };
    const errors = schemaErrors(bad).join('\n');
    expect(errors).toMatch(/\/version/);
    expect(errors).toMatch(/\/runs\/0\/results\/0\/level/);
  });
});
