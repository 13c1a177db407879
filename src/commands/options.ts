// Option shapes shared by the commands that read evidence.
import path from 'node:path';
import type { KvConnectOptions } from '../sources/kv.js';

export const DEFAULT_BUCKET = 'agent-os-peer-state';
export const DEFAULT_SERVER = 'nats://127.0.0.1:4222';

export interface ConnectArgs {
  server?: string;
  bucket: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  timeout: number;
}

export function kvOptions(a: ConnectArgs): KvConnectOptions {
  return {
    servers: a.server ?? process.env.NATS_URL ?? DEFAULT_SERVER,
    bucket: a.bucket,
    user: a.user,
    password: a.password,
    token: a.token,
    credsFile: a.creds ? path.resolve(a.creds) : undefined,
    timeoutMs: a.timeout,
  };
}
