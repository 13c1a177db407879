import { readKvLive } from '../../dist/src/sources/kv.js';
const t = performance.now(); const c = process.cpuUsage();
const r = await readKvLive({ servers: process.argv[2], bucket: 'agent-os-peer-state', timeoutMs: 5000 });
const cu = process.cpuUsage(c);
console.log(r.report.ok, JSON.stringify(r.report.stats), (performance.now() - t).toFixed(0), 'ms', ((cu.user + cu.system) / 1000).toFixed(0), 'cpu ms');
