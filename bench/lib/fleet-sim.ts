// Simulated fleet servers for bench/fleet.ts, run inside a bench namespace: one FleetSync
// (the daemon's own directory code: read, watch, write fleet.json) per server name, all
// sharing one etcd login (a login per server would cost the directory a bcrypt each).
// Reads one JSON line on stdin: { endpoints, fleet, servers, stateRoot, user, password };
// registers the servers' hosts in the directory first (as `fleet server add` would, without
// an etcd user each).
// Prints JSON lines: {"ready":n} once every server read the directory, then
// {"server","t","alice"} whenever a server's users gain or lose "alice" (t: Date.now()
// after its fleet.json was written, when a daemon would apply it).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EtcdClient, FleetAdmin, FleetSync, createLogger, hostKey } from '@otpknock/server';

interface Input {
  endpoints: string[];
  fleet: string;
  servers: string[];
  stateRoot: string;
  user: string;
  password: string;
}

const rl = createInterface({ input: process.stdin });
const lines = rl[Symbol.asyncIterator]();
const input = JSON.parse(((await lines.next()).value as string | undefined) ?? '{}') as Input;
const etcd = new EtcdClient({
  endpoints: input.endpoints,
  user: input.user,
  password: input.password,
  timeoutMs: 10_000,
});
const log = createLogger('json');
for (let i = 0; i < input.servers.length; i += 100)
  await Promise.all(
    input.servers.slice(i, i + 100).map((s) => etcd.put(hostKey(input.fleet, s), JSON.stringify({ version: 1 }))),
  );
const syncs: FleetSync[] = [];
for (const server of input.servers) {
  const stateDir = join(input.stateRoot, server);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  let had = false;
  const sync: FleetSync = new FleetSync({
    fleet: { name: input.fleet, server, endpoints: input.endpoints, checkIntervalMs: 600_000, timeoutMs: 10_000 },
    stateDir,
    etcd,
    log,
    onUsersChanged: () => {
      const has = sync.userNames().includes('alice');
      if (has === had) return;
      had = has;
      process.stdout.write(`${JSON.stringify({ server, t: Date.now(), alice: has })}\n`);
    },
  });
  syncs.push(sync);
}
// The first reads a few at a time, as servers coming up over a while would.
for (let i = 0; i < syncs.length; i += 50) await Promise.all(syncs.slice(i, i + 50).map((s) => s.refresh()));
for (const s of syncs) s.start();
process.stdout.write(`${JSON.stringify({ ready: syncs.length })}\n`);
// Then: {"revoke": NAME} revokes NAME on every server (FleetAdmin, as `fleet revoke --all`
// does), printing {"revokeStart","revokeEnd"}: the change starts with its first txn.
const admin = new FleetAdmin(etcd, input.fleet);
void (async () => {
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const cmd = JSON.parse(next.value as string) as { revoke?: string };
    if (cmd.revoke === undefined) continue;
    const revokeStart = Date.now();
    await admin.revoke(cmd.revoke, 'all');
    process.stdout.write(`${JSON.stringify({ revokeStart, revokeEnd: Date.now() })}\n`);
  }
})();
process.on('SIGTERM', () => {
  for (const s of syncs) s.stop();
  process.exit(0);
});
