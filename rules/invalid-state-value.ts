import { defineRule } from '../src/engine/rule.js';
import type { Evidence } from '../src/model/types.js';
import { excerptOf } from '../src/model/text.js';

export default defineRule({
  meta: {
    id: 'invalid-state-value',
    severity: 'error',
    summary: 'A PEER state value cannot be read: not JSON, not UTF-8, empty, or JSON of no known shape.',
    sources: ['kv'],
    fixable: false,
    title: 'A state value cannot be read',
  },
  check({ model, report }) {
    for (const rec of model.keys) {
      const bad = rec.invalid;
      if (!bad) continue;
      const { info } = rec;
      const evidence: Evidence[] = [
        {
          location: { kind: 'kv', bucket: model.bucket, key: info.key, revision: bad.revision },
          excerpt: excerptOf(bad.text, 200) || '(empty)',
          note: bad.reason,
        },
      ];
      if (bad.lastGood !== undefined) {
        evidence.push({
          location: { kind: 'kv', bucket: model.bucket, key: info.key, revision: bad.lastGood },
          excerpt: `revision ${bad.lastGood}`,
          note: 'the last revision in history that parses',
        });
      }
      const subject = {
        ...(info.prefix ? { keyPrefix: info.prefix } : {}),
        ...(info.scope === 'spec' && info.name ? { spec: info.name } : {}),
        ...(info.cycle !== undefined ? { cycle: info.cycle } : {}),
      };
      const lastGood =
        bad.lastGood !== undefined
          ? ` Revision ${bad.lastGood} is the last that parses.`
          : ' No earlier revision parses.';
      report({
        message: `${info.key} revision ${bad.revision} cannot be read: ${bad.reason}.${lastGood}`,
        subject,
        evidence,
        target: info.key,
      });
    }
  },
});
