// Mutual TLS against a real nats-server with a private CA made by openssl at test time: the scan succeeds with
// CA + client certificate, and every way of getting it wrong is one clear line and exit 2.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempProject } from '../helpers/evidence.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';

const run = promisify(execFile);
const BUCKET = 'agent-os-peer-state';

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by it (EC P-256: fast). */
async function makePki(dir: string, caName: string): Promise<{ ca: string; caKey: string }> {
  const ca = path.join(dir, `${caName}.pem`);
  const caKey = path.join(dir, `${caName}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    `/CN=${caName}`,
  ]);
  return { ca, caKey };
}

async function issue(
  dir: string,
  pki: { ca: string; caKey: string },
  name: string,
  ext: string,
): Promise<{ cert: string; key: string }> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  const extFile = path.join(dir, `${name}.ext`);
  await writeFile(extFile, ext);
  await run('openssl', [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    `/CN=${name}`,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.ca,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    extFile,
  ]);
  return { cert, key };
}

const NO_NATS_ENV = {
  NATS_URL: undefined,
  NATS_CONTEXT: undefined,
  NATS_USER: undefined,
  NATS_PASSWORD: undefined,
  NATS_TOKEN: undefined,
  NATS_CREDS: undefined,
  NATS_NKEY: undefined,
  NATS_CERT: undefined,
  NATS_KEY: undefined,
  NATS_CA: undefined,
};

describe('TLS with a private CA (server verify: true)', () => {
  let dir: string;
  let home: string;
  let project: string;
  let server: NatsServerHandle;
  let plain: NatsServerHandle;
  let ca: string;
  let otherCa: string;
  let client: { cert: string; key: string };
  let strangerClient: { cert: string; key: string };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pa-tls-'));
    home = await mkdtemp(path.join(tmpdir(), 'pa-home-'));
    project = await tempProject({});
    const pki = await makePki(dir, 'peer-ca');
    const other = await makePki(dir, 'other-ca');
    ca = pki.ca;
    otherCa = other.ca;
    const srv = await issue(
      dir,
      pki,
      'server',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    client = await issue(dir, pki, 'client', 'extendedKeyUsage=clientAuth\n');
    strangerClient = await issue(dir, other, 'stranger', 'extendedKeyUsage=clientAuth\n');

    [server, plain] = await Promise.all([
      startNatsServer({
        tls: { certFile: srv.cert, keyFile: srv.key, caFile: ca, verify: true },
        readyOptions: { tls: { caFile: ca, certFile: client.cert, keyFile: client.key } },
      }),
      startNatsServer(),
    ]);
    // The bucket, created over TLS by the test itself.
    const { connect } = await import('nats');
    const nc = await connect({
      servers: `127.0.0.1:${server.port}`,
      tls: { caFile: ca, certFile: client.cert, keyFile: client.key },
      reconnect: false,
    });
    await nc.jetstream().views.kv(BUCKET, { history: 50 });
    await nc.drain();
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), plain?.stop()]);
    for (const d of [dir, home, project]) if (d) await rm(d, { recursive: true, force: true });
  });

  const cli = (args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> =>
    runCli(args, { env: { ...NO_NATS_ENV, HOME: home, XDG_CONFIG_HOME: path.join(home, 'xdg'), ...env } });
  const scan = (args: string[], env: Record<string, string | undefined> = {}) =>
    cli(['scan', '--project', project, '--no-default-logs', '--format', 'json', '--timeout', '3000', ...args], env);

  function expectRead(r: CliResult): void {
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.complete).toBe(true);
    expect(json.sources.find((s: { kind: string }) => s.kind === 'kv')).toMatchObject({
      ok: true,
      ref: `${server.url} bucket ${BUCKET}`,
    });
  }

  function expectOneLine(r: CliResult, re: RegExp): void {
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).not.toContain('No problems found in the evidence read');
  }

  it('scan succeeds with --tlsca, --tlscert and --tlskey', async () => {
    expectRead(await scan(['--server', server.url, '--tlsca', ca, '--tlscert', client.cert, '--tlskey', client.key]));
  });

  it('…and with NATS_CA, NATS_CERT and NATS_KEY', async () => {
    expectRead(await scan(['--server', server.url], { NATS_CA: ca, NATS_CERT: client.cert, NATS_KEY: client.key }));
  });

  it('…and with cert, key and ca in the selected context (paths with ~), over a tls:// URL', async () => {
    const certs = path.join(home, 'certs');
    await mkdir(certs, { recursive: true });
    await run('cp', [ca, client.cert, client.key, certs]);
    const ctxDir = path.join(home, 'xdg', 'nats', 'context');
    await mkdir(ctxDir, { recursive: true });
    await writeFile(
      path.join(ctxDir, 'secure.json'),
      JSON.stringify({
        url: `tls://127.0.0.1:${server.port}`,
        ca: '~/certs/peer-ca.pem',
        cert: '~/certs/client.pem',
        key: '~/certs/client.key',
      }),
    );
    await writeFile(path.join(home, 'xdg', 'nats', 'context.txt'), 'secure');
    const r = await scan([]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sources.find((s: { kind: string }) => s.kind === 'kv')).toMatchObject({
      ok: true,
      ref: `tls://127.0.0.1:${server.port} bucket ${BUCKET}`,
    });
    await rm(path.join(home, 'xdg', 'nats', 'context.txt'));
  });

  it('without the client certificate: one clear line, exit 2', async () => {
    expectOneLine(
      await scan(['--server', server.url, '--tlsca', ca]),
      /^peer-audit: incomplete: NATS at nats:\/\/127\.0\.0\.1:\d+ closed the connection during the TLS handshake: it requires a client certificate \(--tlscert and --tlskey, or cert\/key in the NATS context\)( \[ERR_SSL_[A-Z0-9_]+\])?$/,
    );
  });

  it('with the wrong CA: one clear line naming --tlsca, exit 2', async () => {
    expectOneLine(
      await scan(['--server', server.url, '--tlsca', otherCa, '--tlscert', client.cert, '--tlskey', client.key]),
      /^peer-audit: incomplete: the TLS certificate of NATS at nats:\/\/127\.0\.0\.1:\d+ is not signed by a CA this machine trusts \([A-Z_]+\): pass the CA that signed it with --tlsca \(or "ca" in the NATS context\)$/,
    );
    // No TLS options at all: the client still upgrades (the server requires TLS), and the private CA is unknown.
    expectOneLine(await scan(['--server', server.url]), /is not signed by a CA this machine trusts .*--tlsca/);
  });

  it('a client certificate from a CA the server does not trust: one clear line', async () => {
    expectOneLine(
      await scan([
        '--server',
        server.url,
        '--tlsca',
        ca,
        '--tlscert',
        strangerClient.cert,
        '--tlskey',
        strangerClient.key,
      ]),
      /closed the connection during the TLS handshake: it did not accept the client certificate/,
    );
  });

  it('a TLS file that cannot be read, a certificate without its key, TLS asked of a server without it', async () => {
    expectOneLine(
      await scan(['--server', server.url, '--tlsca', path.join(dir, 'nope.pem')]),
      new RegExp(`cannot read TLS CA file ${dir}/nope\\.pem: ENOENT$`),
    );
    expectOneLine(
      await scan(['--server', server.url, '--tlsca', ca, '--tlscert', client.cert]),
      /a TLS client certificate needs its key: add --tlskey$/,
    );
    expectOneLine(
      await scan(['--server', plain.url, '--tlsca', ca]),
      /NATS at nats:\/\/127\.0\.0\.1:\d+ does not offer TLS, but TLS was asked for/,
    );
  });

  it('snapshot and doctor connect over TLS too', async () => {
    const out = path.join(home, 'state.jsonl');
    const tls = ['--tlsca', ca, '--tlscert', client.cert, '--tlskey', client.key];
    const s = await cli(['snapshot', '-o', out, '--server', server.url, ...tls]);
    expect([s.code, s.stderr]).toEqual([0, expect.stringContaining('wrote 0 keys')]);
    const d = await cli([
      'doctor',
      '--server',
      server.url,
      ...tls,
      '--project',
      project,
      '--no-default-logs',
      '--expect-replicas',
      '1',
    ]);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(
      new RegExp(
        `^✔ nats +tls://127\\.0\\.0\\.1:${server.port} \\(from --server\\): nats-server [\\d.]+, TLS with a client certificate; round trip`,
        'm',
      ),
    );
  });
});
