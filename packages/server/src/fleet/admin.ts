// What `otpknockd fleet …` does to the directory: each change of a person is one etcd
// transaction (their record and every server's record together), guarded by the
// person record's revision so that two admins cannot lose each other's change.
import { randomBytes } from 'node:crypto';
import { OtpknockError, encodeSecret, generateSecret, type KnockProfile } from '@otpknock/shared';
import type { EtcdClient, TxnOp } from './etcd.js';
import {
  hostKey,
  hostsPrefix,
  peoplePrefix,
  personChangeOps,
  personKey,
  serverEtcdName,
  serverPrefix,
  serverUsersPrefix,
  settingsKey,
  type FleetSettings,
  type HostRecord,
  type PersonRecord,
} from './directory.js';

/** etcd refuses a txn of more than --max-txn-ops operations (default 128). */
export const MAX_TXN_OPS = 128;

export class FleetAdmin {
  constructor(
    private readonly etcd: EtcdClient,
    readonly fleet: string,
    private readonly now: () => number = Date.now,
  ) {}

  async settings(): Promise<FleetSettings> {
    const kv = await this.etcd.get(settingsKey(this.fleet));
    if (kv === undefined)
      throw new OtpknockError('E_CONFIG', `fleet ${this.fleet} has no settings in the directory`, {
        hint: `create them once with: otpknockd fleet init`,
      });
    return JSON.parse(kv.value) as FleetSettings;
  }

  /** Writes the fleet's profile and port; refuses to change them once people are enrolled. */
  async init(profile: KnockProfile, port: number): Promise<void> {
    const people = await this.etcd.rangePrefix(peoplePrefix(this.fleet));
    const current = await this.etcd.get(settingsKey(this.fleet));
    if (
      people.kvs.length > 0 &&
      current !== undefined &&
      current.value !== JSON.stringify({ version: 1, profile, port })
    )
      throw new OtpknockError('E_ARGUMENT', `fleet ${this.fleet} already has people; its profile cannot change`, {
        hint: 'every person would need a new fleet URI; create a new fleet instead',
      });
    await this.etcd.put(settingsKey(this.fleet), JSON.stringify({ version: 1, profile, port } satisfies FleetSettings));
  }

  /**
   * Makes server `server` known: an etcd user and role that may read its own prefix
   * only, with a fresh password, and where people knock it. Returns the credentials.
   */
  async addServer(server: string, host: string | undefined): Promise<{ user: string; password: string }> {
    const name = serverEtcdName(this.fleet, server);
    const password = randomBytes(24).toString('base64url');
    await this.etcd.ensureReadOnlyUser(name, password, name, serverPrefix(this.fleet, server));
    await this.etcd.put(
      hostKey(this.fleet, server),
      JSON.stringify({ version: 1, ...(host === undefined ? {} : { host }) } satisfies HostRecord),
    );
    return { user: name, password };
  }

  /** Forgets a server: its records, its host, its etcd user and role. People keep their other servers. */
  async removeServer(server: string): Promise<void> {
    for (const p of await this.people()) {
      if (p.record.servers.includes(server))
        await this.change(p.record.name, (r) => ({ ...r, servers: r.servers.filter((s) => s !== server) }));
    }
    await this.etcd.txn(
      [],
      [
        { delete: { key: serverPrefix(this.fleet, server), prefix: true } },
        { delete: { key: hostKey(this.fleet, server) } },
      ],
    );
    const name = serverEtcdName(this.fleet, server);
    await this.etcd.removeUserAndRole(name, name);
  }

  async servers(): Promise<{ name: string; host?: string }[]> {
    const { kvs } = await this.etcd.rangePrefix(hostsPrefix(this.fleet));
    return kvs.map((kv) => {
      const rec = JSON.parse(kv.value) as HostRecord;
      const name = kv.key.slice(hostsPrefix(this.fleet).length);
      return rec.host === undefined ? { name } : { name, host: rec.host };
    });
  }

  async people(): Promise<{ record: PersonRecord; modRevision: number }[]> {
    const { kvs } = await this.etcd.rangePrefix(peoplePrefix(this.fleet));
    return kvs.map((kv) => ({ record: JSON.parse(kv.value) as PersonRecord, modRevision: kv.modRevision }));
  }

  /** Enrols a person with a fresh secret K on `servers`. Returns the record (with K). */
  async enrol(name: string, servers: string[], services: string[] | undefined): Promise<PersonRecord> {
    await this.knownServers(servers);
    const record: PersonRecord = {
      version: 1,
      name,
      secret: encodeSecret(generateSecret()),
      secretCreated: new Date(this.now()).toISOString(),
      servers: [...new Set(servers)],
      ...(services === undefined ? {} : { services }),
      disabled: false,
      previous: [],
    };
    const settings = await this.settings();
    const ok = await this.writeGuarded(
      { key: personKey(this.fleet, name), modRevision: 0 },
      personChangeOps(this.fleet, undefined, record, settings, this.now()),
    );
    if (!ok)
      throw new OtpknockError('E_ARGUMENT', `${name} is already enrolled in fleet ${this.fleet}`, {
        hint: `change their servers with otpknockd fleet grant/revoke, or issue a new secret with otpknockd fleet rotate ${name}`,
      });
    return record;
  }

  /** Applies `edit` to a person's record (or removes it when `edit` returns undefined), in one txn. */
  async change(name: string, edit: (r: PersonRecord) => PersonRecord | undefined): Promise<PersonRecord | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const kv = await this.etcd.get(personKey(this.fleet, name));
      if (kv === undefined)
        throw new OtpknockError('E_ARGUMENT', `no person ${name} in fleet ${this.fleet}`, {
          hint: 'see: otpknockd fleet list',
        });
      const before = JSON.parse(kv.value) as PersonRecord;
      const after = edit(before);
      if (after !== undefined) await this.knownServers(after.servers);
      const settings = await this.settings();
      const ops = personChangeOps(this.fleet, before, after, settings, this.now());
      if (await this.writeGuarded({ key: personKey(this.fleet, name), modRevision: kv.modRevision }, ops)) return after;
      // Another admin changed the person meanwhile: read again and redo the edit.
    }
    throw new OtpknockError('E_BUSY', `the record of ${name} keeps changing under us`, { hint: 'try again' });
  }

  grant(name: string, servers: string[]): Promise<PersonRecord | undefined> {
    return this.change(name, (r) => ({ ...r, servers: [...new Set([...r.servers, ...servers])] }));
  }

  revoke(name: string, servers: string[] | 'all'): Promise<PersonRecord | undefined> {
    return this.change(name, (r) => ({
      ...r,
      servers: servers === 'all' ? [] : r.servers.filter((s) => !servers.includes(s)),
    }));
  }

  setDisabled(name: string, disabled: boolean): Promise<PersonRecord | undefined> {
    return this.change(name, (r) => ({ ...r, disabled }));
  }

  remove(name: string): Promise<PersonRecord | undefined> {
    return this.change(name, () => undefined);
  }

  /** A new secret K; the old one stays accepted on every server until now + graceMs. */
  rotate(name: string, graceMs: number): Promise<PersonRecord | undefined> {
    const now = this.now();
    return this.change(name, (r) => ({
      ...r,
      secret: encodeSecret(generateSecret()),
      secretCreated: new Date(now).toISOString(),
      previous: [
        ...(graceMs > 0 ? [{ secret: r.secret, until: new Date(now + graceMs).toISOString() }] : []),
        ...r.previous.filter((p) => Date.parse(p.until) > now),
      ],
    }));
  }

  /** How many user records a server's prefix holds (what its daemon would load). */
  async serverUserCount(server: string): Promise<number> {
    return (await this.etcd.rangePrefix(serverUsersPrefix(this.fleet, server))).kvs.length;
  }

  /**
   * Writes `ops` (the person record last) if `guard` holds. Up to MAX_TXN_OPS it is one
   * txn; a person on more servers than fit is written in several, the servers' records
   * first and the person record with the guard last: until that last one succeeds the
   * person record still says the old state, so running the command again redoes it all.
   */
  private async writeGuarded(guard: { key: string; modRevision: number }, ops: TxnOp[]): Promise<boolean> {
    if (ops.length <= MAX_TXN_OPS) return this.etcd.txn([guard], ops);
    const current = await this.etcd.get(guard.key);
    if ((current?.modRevision ?? 0) !== guard.modRevision) return false;
    const serverOps = ops.slice(0, -1);
    for (let i = 0; i < serverOps.length; i += MAX_TXN_OPS)
      await this.etcd.txn([], serverOps.slice(i, i + MAX_TXN_OPS));
    return this.etcd.txn([guard], ops.slice(-1));
  }

  private async knownServers(servers: string[]): Promise<void> {
    const known = new Set((await this.servers()).map((s) => s.name));
    const unknown = servers.filter((s) => !known.has(s));
    if (unknown.length > 0)
      throw new OtpknockError(
        'E_ARGUMENT',
        `unknown server${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in fleet ${this.fleet}`,
        {
          hint: 'add a server first with: otpknockd fleet server add NAME --credentials-out FILE',
        },
      );
  }
}
