import { defineRule } from '../src/engine/rule.js';
import type { KeyRecord, Run } from '../src/model/build.js';
import { brief, classifyKey, str, type KeyInfo } from '../src/model/state.js';
import type { Evidence, KvLocation, Subject } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';

/**
 * Instructions that work on a spec: their state belongs under peer.spec.<name>. analyze-product only when it names a
 * spec.
 */
const SPEC_AWARE = new Set(['create-spec', 'execute-tasks', 'refine-spec']);

export default defineRule({
  meta: {
    id: 'malformed-key',
    severity: 'warning',
    summary:
      'A state key (or an id inside a value) has the wrong shape or prefix: empty segments, colons, a spec ' +
      'instruction under peer.instruction or peer.global.',
    sources: ['kv'],
    fixable: false,
    title: 'State is stored under a malformed key',
  },
  check({ model, report }) {
    const bucket = model.bucket;
    const loc = (rec: KeyRecord, pointer?: string): KvLocation => ({
      kind: 'kv',
      bucket,
      key: rec.info.key,
      revision: rec.latest.revision,
      ...(pointer ? { pointer } : {}),
    });

    // 1. The shape of every key.
    for (const rec of model.keys) {
      const key = rec.info.key;
      // Other tools share the bucket: a key outside peer. (or the colon draft's peer:) is not PEER state.
      if (!/^peer[.:]/.test(key)) continue;
      const problems: string[] = [];
      const segs = key.split('.');
      const empty = segs.map((s, i) => (s === '' ? i + 1 : 0)).filter((i) => i > 0);
      if (empty.length > 0)
        problems.push(
          `${empty.length === 1 ? 'an empty segment' : `${empty.length} empty segments`} ` +
            `(segment ${empty.join(', ')} of ${segs.length})`,
        );
      if (key.includes(':')) problems.push('":" as a delimiter (PEER keys use ".")');
      if (problems.length === 0) continue;
      const meant = key.includes(':') ? key.replace(/:/g, '.') : undefined;
      const info = meant ? classifyKey(meant) : rec.info;
      const why =
        empty.length > 0 && info.scope === 'spec' && info.name === ''
          ? ' The spec name was empty when the key was built (the agents put ${spec_name} into the key without ' +
            'checking it).'
          : '';
      const probably = meant ? ` It was probably meant as ${excerptOf(meant)}.` : '';
      report({
        message: `Key ${excerptOf(key)} has ${problems.join(' and ')}.${probably}${why}`,
        subject: subjectOf(info),
        evidence: [
          {
            location: loc(rec),
            excerpt: excerptOf(key),
            note:
              `${rec.deleted ? 'deleted; ' : ''}${rec.revisions.length} ` +
              `revision${rec.revisions.length === 1 ? '' : 's'} under this key`,
          },
        ],
        target: key,
      });
    }

    for (const run of model.runs) {
      if (!run.prefix) continue;
      // 2. A spec-aware instruction under peer.instruction.*.
      const misplaced = specInstructionUnderInstruction(run, bucket);
      if (misplaced) {
        report({
          message:
            `${misplaced.instruction} state is stored under ${run.prefix}, but ${misplaced.instruction} ` +
            `is spec-aware: its state belongs under peer.spec.${misplaced.spec ?? '<spec-name>'}, where the agents ` +
            'read and write it.',
          subject: { keyPrefix: run.prefix, ...(misplaced.spec ? { spec: misplaced.spec } : {}) },
          evidence: misplaced.evidence,
          target: `${run.prefix}#spec-instruction`,
        });
      }

      for (const cycle of run.cycles) {
        const at = (pointer: string): KvLocation => ({
          kind: 'kv',
          bucket,
          key: cycle.key,
          revision: cycle.revision,
          pointer,
        });
        const md = cycle.metadata;
        // 3. A create-spec cycle under peer.global that names its spec.
        if (run.prefix === 'peer.global' && md) {
          const instr = str(md.instruction_name) ?? str(md.instruction);
          const spec = str(md.spec_name)?.trim();
          if (instr === 'create-spec' && spec) {
            report({
              message:
                `${cycle.key} is a create-spec cycle for spec "${spec}" stored under peer.global; it ` +
                `belongs under peer.spec.${spec} (the prefix was fixed before the spec name was derived).`,
              subject: { keyPrefix: run.prefix, spec, cycle: cycle.number },
              evidence: [
                {
                  location: at(
                    md.instruction_name !== undefined ? '/metadata/instruction_name' : '/metadata/instruction',
                  ),
                  excerpt: `"instruction_name": ${brief(instr)}`,
                  note: 'a spec-aware instruction',
                },
                {
                  location: at('/metadata/spec_name'),
                  excerpt: `"spec_name": ${brief(md.spec_name)}`,
                  note: `names the spec; expected key ${`peer.spec.${spec}.cycle.${cycle.number}`}`,
                },
              ],
              target: `${cycle.key}#global-spec`,
            });
          }
        }

        // 4. Colon-delimited ids inside the value.
        const ids: [string, unknown][] = [
          ['/cycle_id', cycle.json.cycle_id],
          ['/metadata/cycle_id', md?.cycle_id],
          ['/metadata/key_prefix', md?.key_prefix],
        ];
        const colon = ids.filter(([, v]) => typeof v === 'string' && v.includes(':'));
        if (colon.length > 0) {
          const held = colon.map(([p, v]) => `${p.slice(1).replace('/', '.')} ${brief(v)}`).join(' and ');
          report({
            message: `${cycle.key} holds ${held}: colon-delimited ids (the delimiter is ".", since 2025-08-06).`,
            subject: subjectOf(classifyKey(cycle.key)),
            evidence: colon.map(([p, v]) => ({
              location: at(p),
              excerpt: `"${p.split('/').pop()}": ${brief(v)}`,
              note: `":" in an id; the key is ${cycle.key}`,
            })),
            target: `${cycle.key}#colon-id`,
          });
        }
      }
    }
  },
});

function specInstructionUnderInstruction(
  run: Run,
  bucket: string,
): { instruction: string; spec?: string; evidence: Evidence[] } | undefined {
  const info = run.keys[0]?.info;
  if (!info || info.scope !== 'instruction') return undefined;
  const evidence: Evidence[] = [];
  let instruction: string | undefined;
  let spec: string | undefined;
  const name = info.name ?? '';
  const specName =
    run.meta?.specName?.trim() || run.cycles.map((c) => str(c.metadata?.spec_name)?.trim()).find(Boolean) || undefined;
  const aware = (i: string | undefined) => !!i && (SPEC_AWARE.has(i) || (i === 'analyze-product' && !!specName));
  if (aware(name)) instruction = name;
  for (const c of run.cycles) {
    const i = c.instruction;
    if (aware(i)) {
      instruction ??= i;
      const ptr =
        c.layout === 'v2'
          ? c.metadata?.instruction_name !== undefined
            ? '/metadata/instruction_name'
            : '/metadata/instruction'
          : '/instruction';
      evidence.push({
        location: { kind: 'kv', bucket: bucket, key: c.key, revision: c.revision, pointer: ptr },
        excerpt: `"instruction": ${brief(i)}`,
        note: `${i} is spec-aware`,
      });
    }
  }
  if (!instruction) return undefined;
  if (specName) spec = specName;
  if (run.meta) {
    const m = run.meta;
    evidence.unshift({
      location: {
        kind: 'kv',
        bucket: bucket,
        key: m.key,
        revision: m.revision,
        ...(m.specName !== undefined ? { pointer: '/spec_name' } : {}),
      },
      excerpt: m.specName !== undefined ? `"spec_name": ${brief(m.specName)}` : m.key,
      note: m.specName?.trim() ? `the meta names spec ${m.specName}` : 'the meta of the misplaced run',
    });
  }
  if (evidence.length === 0) {
    const rec = run.keys[0];
    evidence.push({
      location: { kind: 'kv', bucket: bucket, key: rec.info.key, revision: rec.latest.revision },
      excerpt: rec.info.key,
      note: `the key names ${instruction}`,
    });
  }
  return { instruction, spec, evidence };
}

function subjectOf(info: KeyInfo): Subject {
  const s: Subject = {};
  if (info.prefix) s.keyPrefix = info.prefix;
  if (info.scope === 'spec' && info.name) s.spec = info.name;
  if (info.cycle !== undefined) s.cycle = info.cycle;
  return s;
}
