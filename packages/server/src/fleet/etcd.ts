// A small etcd v3 client over etcd's JSON gateway (/v3/kv/*, /v3/watch, /v3/auth/*,
// served by etcd 3.4 and later on its client port), with node:http/https only: no
// gRPC stack in the daemon's bundle (npm etcd3 brings @grpc/grpc-js, protobufjs and
// cockatiel, ~2 MB), and TLS client certificates through node:https's own options.
// Keys and values are base64 on the wire; this module takes and gives strings.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { OtpknockError } from '@otpknock/shared';
import { explainNonJsonAnswer, explainRequestError } from './request-error.js';

export interface EtcdTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** Where `ca` and `cert` were read from, for error messages. */
  caFile?: string;
  certFile?: string;
}

export interface EtcdOptions {
  /** Client URLs, e.g. http://192.0.2.101:2379; tried in order, the last good one first. */
  endpoints: readonly string[];
  /** etcd user and password (etcd auth); absent: no authentication. */
  user?: string;
  password?: string;
  /** PEM texts (already read with the secret-file rules). */
  tls?: EtcdTls;
  /** Per request. Default 3 s. */
  timeoutMs?: number;
}

export interface KeyValue {
  key: string;
  value: string;
  modRevision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: number;
}

/**
 * An error from etcd or from the way there; `grpcCode` is etcd's gRPC code when it
 * answered. An OtpknockError (E_DIRECTORY): the CLI prints it as it is, exit 1.
 */
export class EtcdError extends OtpknockError {
  constructor(
    message: string,
    readonly grpcCode?: number,
    readonly endpoint?: string,
  ) {
    super('E_DIRECTORY', message);
    this.name = 'EtcdError';
  }
  /** etcd said no to these credentials (not: the network failed). */
  get denied(): boolean {
    return this.grpcCode === 7 || this.grpcCode === 16;
  }
}

/** A txn's compare: the key's mod_revision equals `modRevision` (0: the key does not exist). */
export interface ModCompare {
  key: string;
  modRevision: number;
}
export type TxnOp = { put: { key: string; value: string } } | { delete: { key: string; prefix?: boolean } };

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

/** The end of the key range holding every key that starts with `prefix` (etcd's prefix convention), base64. */
function rangeEndB64(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.of(0).toString('base64');
}

export class EtcdClient {
  private token: string | undefined;
  private authenticating: Promise<string> | undefined;
  private current = 0;
  private readonly timeoutMs: number;

  constructor(private readonly options: EtcdOptions) {
    if (options.endpoints.length === 0) throw new EtcdError('no etcd endpoints given');
    this.timeoutMs = options.timeoutMs ?? 3_000;
  }

  /** The endpoint that answered last (or will be tried first). */
  get endpoint(): string {
    return this.options.endpoints[this.current]!;
  }

  /** Every key under `prefix` with the store's revision (a linearizable read: a majority confirms it). */
  async rangePrefix(prefix: string): Promise<{ revision: number; kvs: KeyValue[] }> {
    const r = await this.call('/v3/kv/range', { key: b64(prefix), range_end: rangeEndB64(prefix) });
    return { revision: revisionOf(r), kvs: kvsOf(r) };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return kvsOf(await this.call('/v3/kv/range', { key: b64(key) }))[0];
  }

  async put(key: string, value: string): Promise<number> {
    return revisionOf(await this.call('/v3/kv/put', { key: b64(key), value: b64(value) }));
  }

  /** All ops at once if every compare holds; false (nothing written) otherwise. */
  async txn(compares: readonly ModCompare[], ops: readonly TxnOp[]): Promise<boolean> {
    const r = await this.call('/v3/kv/txn', {
      compare: compares.map((c) => ({
        key: b64(c.key),
        target: 'MOD',
        result: 'EQUAL',
        mod_revision: String(c.modRevision),
      })),
      success: ops.map((op) =>
        'put' in op
          ? { request_put: { key: b64(op.put.key), value: b64(op.put.value) } }
          : {
              request_delete_range: {
                key: b64(op.delete.key),
                ...(op.delete.prefix ? { range_end: rangeEndB64(op.delete.key) } : {}),
              },
            },
      ),
    });
    return (r as { succeeded?: boolean }).succeeded === true;
  }

  /** etcd auth administration (needs the root role). Existing users/roles are left as they are. */
  async ensureReadOnlyUser(user: string, password: string, role: string, prefix: string): Promise<void> {
    await this.call('/v3/auth/role/add', { name: role }).catch(ignoreExists);
    await this.call('/v3/auth/role/grant', {
      name: role,
      perm: { permType: 'READ', key: b64(prefix), range_end: rangeEndB64(prefix) },
    });
    await this.call('/v3/auth/user/add', { name: user, password }).catch(async (e: unknown) => {
      ignoreExists(e);
      await this.call('/v3/auth/user/changepw', { name: user, password });
    });
    await this.call('/v3/auth/user/grant', { user, role });
  }

  async removeUserAndRole(user: string, role: string): Promise<void> {
    await this.call('/v3/auth/user/delete', { name: user }).catch(ignoreMissing);
    await this.call('/v3/auth/role/delete', { role }).catch(ignoreMissing);
  }

  /**
   * Watches every key under `prefix` from `fromRevision` on. `onEvents` gets each
   * batch in order; `onEnd` is called once when the stream ends or fails (then watch
   * again, after a fresh rangePrefix). Returns a function that cancels the watch.
   */
  watchPrefix(
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEvent[], revision: number) => void,
    onEnd: (error: EtcdError) => void,
  ): () => void {
    let ended = false;
    let req: { destroy(): void } | undefined;
    const end = (e: EtcdError) => {
      if (ended) return;
      ended = true;
      req?.destroy();
      onEnd(e);
    };
    void this.authHeader()
      .then((headers) => {
        if (ended) return;
        const body = JSON.stringify({
          create_request: { key: b64(prefix), range_end: rangeEndB64(prefix), start_revision: String(fromRevision) },
        });
        req = this.send(
          '/v3/watch',
          body,
          headers,
          0,
          (res) => {
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              buffer += chunk;
              let nl: number;
              while ((nl = buffer.indexOf('\n')) >= 0) {
                const line = buffer.slice(0, nl).trim();
                buffer = buffer.slice(nl + 1);
                if (line !== '') handleWatchLine(line, onEvents, end, this.endpoint);
              }
            });
            res.on('end', () => end(new EtcdError('the watch stream ended', undefined, this.endpoint)));
            res.on('error', (e) => end(new EtcdError(e.message, undefined, this.endpoint)));
          },
          (e) => end(e),
        );
      })
      .catch((e: unknown) => end(asEtcdError(e, this.endpoint)));
    return () => {
      ended = true;
      req?.destroy();
    };
  }

  /** One JSON call, on the current endpoint first and then on each other one. */
  private async call(path: string, body: unknown): Promise<unknown> {
    let last: EtcdError | undefined;
    for (let i = 0; i < this.options.endpoints.length; i++) {
      try {
        return await this.callOnce(path, body, true);
      } catch (e) {
        last = asEtcdError(e, this.endpoint);
        // An answer from etcd is final (permission denied, a bad request); a network
        // failure or a member without a leader (code 14 unavailable) tries the next one.
        if (last.grpcCode !== undefined && last.grpcCode !== 14 && last.grpcCode !== 4) throw last;
        this.current = (this.current + 1) % this.options.endpoints.length;
        this.token = undefined;
      }
    }
    throw last!;
  }

  private async callOnce(path: string, body: unknown, retryAuth: boolean): Promise<unknown> {
    const headers = await this.authHeader();
    try {
      return await this.post(path, JSON.stringify(body), headers);
    } catch (e) {
      // Tokens expire (etcd's --auth-token-ttl): authenticate again once.
      if (retryAuth && e instanceof EtcdError && /invalid auth token|token/i.test(e.message) && this.options.user) {
        this.token = undefined;
        return this.callOnce(path, body, false);
      }
      throw e;
    }
  }

  private async authHeader(): Promise<Record<string, string>> {
    if (this.options.user === undefined) return {};
    if (this.token !== undefined) return { authorization: this.token };
    // One login at a time: etcd checks each password with bcrypt, so a burst of calls
    // that each logged in would queue up behind each other's bcrypt.
    this.authenticating ??= this.authenticate().finally(() => (this.authenticating = undefined));
    const token = await this.authenticating;
    this.token ??= token;
    return { authorization: token };
  }

  private async authenticate(): Promise<string> {
    const r = (await this.post(
      '/v3/auth/authenticate',
      JSON.stringify({ name: this.options.user, password: this.options.password ?? '' }),
      {},
    )) as { token?: string };
    if (typeof r.token !== 'string')
      throw new EtcdError('etcd gave no token (is auth enabled?)', undefined, this.endpoint);
    return r.token;
  }

  private post(path: string, body: string, headers: Record<string, string>): Promise<unknown> {
    const endpoint = this.endpoint;
    return new Promise((resolve, reject) => {
      this.send(
        path,
        body,
        headers,
        this.timeoutMs,
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let doc: { error?: string; message?: string; code?: number } & Record<string, unknown>;
            try {
              doc = JSON.parse(text) as typeof doc;
            } catch {
              reject(new EtcdError(explainNonJsonAnswer(endpoint, path, res.statusCode, text), undefined, endpoint));
              return;
            }
            if (doc.error !== undefined || (res.statusCode ?? 500) >= 400)
              reject(new EtcdError(doc.message ?? doc.error ?? `HTTP ${res.statusCode}`, doc.code, endpoint));
            else resolve(doc);
          });
          res.on('error', (e) => reject(new EtcdError(`${endpoint}: ${e.message}`, undefined, endpoint)));
        },
        reject,
      );
    });
  }

  /** Sends one POST to the current endpoint; timeoutMs 0: no time limit (a watch). */
  private send(
    path: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
    onResponse: (res: IncomingMessage) => void,
    onError: (e: EtcdError) => void,
  ): { destroy(): void } {
    const endpoint = this.endpoint;
    const url = new URL(path, endpoint.endsWith('/') ? endpoint : `${endpoint}/`);
    const tls = this.options.tls ?? {};
    const opts = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      ...(url.protocol === 'https:' ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts, onResponse);
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0)
      timer = setTimeout(() => {
        req.destroy(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) =>
      onError(new EtcdError(explainRequestError(e, endpoint, tls), undefined, endpoint)),
    );
    req.on('close', () => clearTimeout(timer));
    req.end(body);
    return req;
  }
}

function handleWatchLine(
  line: string,
  onEvents: (events: WatchEvent[], revision: number) => void,
  end: (e: EtcdError) => void,
  endpoint: string,
): void {
  let doc: {
    result?: {
      header?: { revision?: string };
      events?: { type?: string; kv?: { key?: string; value?: string; mod_revision?: string } }[];
      canceled?: boolean;
      cancel_reason?: string;
      compact_revision?: string;
    };
    error?: { message?: string; grpc_code?: number; http_code?: number };
  };
  try {
    doc = JSON.parse(line) as typeof doc;
  } catch {
    end(new EtcdError('the watch stream sent something that is not JSON', undefined, endpoint));
    return;
  }
  if (doc.error !== undefined) {
    end(new EtcdError(doc.error.message ?? 'watch error', doc.error.grpc_code, endpoint));
    return;
  }
  const r = doc.result ?? {};
  if (r.canceled) {
    end(
      new EtcdError(
        `the watch was cancelled${r.cancel_reason ? `: ${r.cancel_reason}` : ''}${r.compact_revision ? ' (compacted)' : ''}`,
        r.cancel_reason?.includes('permission') ? 7 : undefined,
        endpoint,
      ),
    );
    return;
  }
  const events = (r.events ?? []).map((e) => ({
    type: e.type === 'DELETE' ? ('delete' as const) : ('put' as const),
    key: unb64(e.kv?.key),
    value: unb64(e.kv?.value),
    modRevision: Number(e.kv?.mod_revision ?? 0),
  }));
  if (events.length > 0) onEvents(events, Number(r.header?.revision ?? 0));
}

function revisionOf(r: unknown): number {
  return Number((r as { header?: { revision?: string } }).header?.revision ?? 0);
}

function kvsOf(r: unknown): KeyValue[] {
  const kvs = (r as { kvs?: { key?: string; value?: string; mod_revision?: string }[] }).kvs ?? [];
  return kvs.map((kv) => ({ key: unb64(kv.key), value: unb64(kv.value), modRevision: Number(kv.mod_revision ?? 0) }));
}

function asEtcdError(e: unknown, endpoint: string): EtcdError {
  return e instanceof EtcdError ? e : new EtcdError(`${endpoint}: ${(e as Error).message}`, undefined, endpoint);
}

function ignoreExists(e: unknown): void {
  if (!(e instanceof EtcdError && /already exists/.test(e.message))) throw e;
}

function ignoreMissing(e: unknown): void {
  if (!(e instanceof EtcdError && /not found/.test(e.message))) throw e;
}
