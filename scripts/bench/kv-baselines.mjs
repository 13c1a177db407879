// KV baselines, each in a process of its own, on the same bucket the scan reads:
//   floor  <url> <bucket>          one kv.history() consumer over the whole bucket, doing nothing with the entries
//   gets   <url> <bucket> <sample> what PEER's scripts do: list the keys, then one get per key, in turn
//                                  (timed on the first <sample> keys; the caller extrapolates)
// Prints one JSON line. Times run from connect to the last entry.
import { connect } from 'nats';

const [mode, url, bucket, sampleArg] = process.argv.slice(2);
const t0 = performance.now();
const nc = await connect({ servers: url.replace(/^nats:\/\//, ''), reconnect: false, timeout: 10_000 });
const kv = await nc.jetstream({ timeout: 30_000 }).views.kv(bucket, { bindOnly: true });

if (mode === 'floor') {
  let entries = 0;
  const keys = new Set();
  const it = await kv.history({ key: '>' });
  for await (const e of it) {
    entries++;
    keys.add(e.key);
  }
  const cpu = process.cpuUsage();
  console.log(
    JSON.stringify({
      keys: keys.size,
      entries,
      ms: Math.round(performance.now() - t0),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    }),
  );
} else if (mode === 'gets') {
  const sample = Number(sampleArg);
  const tList = performance.now();
  const names = [];
  for await (const k of await kv.keys()) names.push(k);
  const listMs = performance.now() - tList;
  const picked = names.sort().slice(0, sample);
  const tGet = performance.now();
  let bytes = 0;
  for (const k of picked) {
    const e = await kv.get(k);
    bytes += e?.value.length ?? 0;
  }
  const getMs = performance.now() - tGet;
  console.log(
    JSON.stringify({
      keys: names.length,
      sampled: picked.length,
      listMs: Math.round(listMs),
      getMs: Math.round(getMs),
      bytes,
    }),
  );
} else {
  throw new Error(`unknown mode ${mode}`);
}
await nc.close();
