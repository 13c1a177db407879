// Preloaded (node --import) into a measured child when /usr/bin/time is missing: writes the process's peak RSS.
import { writeFileSync } from 'node:fs';

const file = process.env.PEER_AUDIT_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, `@@rss ${process.resourceUsage().maxRSS}\n`);
    } catch {
      /* the figure is optional */
    }
  });
}
