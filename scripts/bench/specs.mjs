// Deterministic spec folders (.agent-os/specs/<date>-<name>/) and product files, as create-spec writes them,
// with the damage peer-audit looks for in a few of them: heredoc residue, a missing tasks.md, a cut-off file.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng, SPEC_WORDS, paragraph, sentence } from './rng.mjs';

/** The spec names every corpus shares: KV keys, spec folders and transcripts refer to the same specs. */
export function specNames(count, seed = 3) {
  const rng = new Rng(seed);
  const names = [];
  for (let i = 0; i < count; i++)
    names.push(`${rng.pick(SPEC_WORDS)}-${rng.pick(SPEC_WORDS)}-${rng.pick(SPEC_WORDS)}-${i}`);
  return names;
}

export function specDate(i) {
  const day = 1 + (i % 28);
  return `2025-08-${String(day).padStart(2, '0')}`;
}

export function generateSpecs(projectDir, names, seed = 5) {
  const rng = new Rng(seed);
  const root = path.join(projectDir, '.agent-os', 'specs');
  let files = 0;
  let bytes = 0;
  const write = (file, text) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    files++;
    bytes += Buffer.byteLength(text);
  };
  names.forEach((name, i) => {
    const dir = path.join(root, `${specDate(i)}-${name}`);
    const title = name.replace(/-\d+$/, '').replace(/-/g, ' ');
    const residue = i % 17 === 3 ? 'EOF < /dev/null\n' : '';
    write(
      path.join(dir, 'spec.md'),
      `# Spec Requirements Document\n\n> Spec: ${title}\n> Created: ${specDate(i)}\n\n## Overview\n\n${paragraph(rng, 4)}\n\n## User Stories\n\n### ${sentence(rng, 4)}\n\nAs a user, I want to ${sentence(rng, 8).toLowerCase()}\n\n## Spec Scope\n\n1. **${title}** - ${sentence(rng)}\n2. **Tests** - ${sentence(rng)}\n\n## Out of Scope\n\n- ${sentence(rng)}\n\n## Expected Deliverable\n\n1. ${sentence(rng)}\n${residue}`,
    );
    // Some folders stop after spec.md: a run cut short.
    if (i % 23 === 7) {
      write(path.join(dir, 'spec-lite.md'), `# Spec Summary (Lite)\n\n${sentence(rng)} The export`);
      return;
    }
    write(path.join(dir, 'spec-lite.md'), `# Spec Summary (Lite)\n\n${paragraph(rng, 2)}\n`);
    write(
      path.join(dir, 'sub-specs', 'technical-spec.md'),
      `# Technical Specification\n\nThis is the technical specification for the spec detailed in @.agent-os/specs/${specDate(i)}-${name}/spec.md\n\n## Technical Requirements\n\n- ${sentence(rng)}\n- ${sentence(rng)}\n- ${sentence(rng)}\n\n## Approach\n\n${paragraph(rng, 5)}\n\n\`\`\`ts\nexport async function handler(req: Request): Promise<Response> {\n  return new Response('ok');\n}\n\`\`\`\n\n## External Dependencies\n\nNone.\n`,
    );
    if (i % 11 === 5) return; // no tasks.md
    const tasks = ['# Spec Tasks', '', '## Tasks', ''];
    const n = rng.int(2, i % 31 === 9 ? 7 : 5);
    for (let t = 1; t <= n; t++) {
      const done = i % 3 === 0;
      tasks.push(`- [${done ? 'x' : ' '}] ${t}. ${sentence(rng, 5).slice(0, -1)}`);
      const subs = rng.int(2, 6);
      for (let s = 1; s <= subs; s++)
        tasks.push(
          `  - [${done ? 'x' : ' '}] ${t}.${s} ${s === 1 ? 'Write tests for ' : ''}${sentence(rng, 4).slice(0, -1).toLowerCase()}`,
        );
    }
    write(path.join(dir, 'tasks.md'), `${tasks.join('\n')}\n`);
  });
  const product = path.join(projectDir, '.agent-os', 'product');
  write(path.join(product, 'mission-lite.md'), `# Product Mission (Lite)\n\n${paragraph(rng, 3)}\n`);
  write(path.join(product, 'tech-stack.md'), `# Technical Stack\n\n- Node 20\n- PostgreSQL 16\n`);
  write(
    path.join(product, 'roadmap.md'),
    `# Product Roadmap\n\n## Phase 1\n\n${names
      .slice(0, 20)
      .map((n) => `- [ ] ${n}`)
      .join('\n')}\n`,
  );
  return { folders: names.length, files, bytes };
}
