// Baseline (a): Node reading every transcript with readline and JSON.parse on each line, doing nothing else.
// Usage: node baseline-readline.mjs <file list (one path a line)>
import { createReadStream, readFileSync } from 'node:fs';
import readline from 'node:readline';

const files = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const t0 = performance.now();
let records = 0;
let bad = 0;
for (const file of files) {
  const rl = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    try {
      JSON.parse(line);
      records++;
    } catch {
      bad++;
    }
  }
}
console.log(JSON.stringify({ records, bad, ms: Math.round(performance.now() - t0) }));
