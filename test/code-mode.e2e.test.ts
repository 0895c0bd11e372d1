// Code mode of a list-modulo user, end to end (issue #13): its code-mode knocks are
// drawn from the range (protocol.md §10), which the kernel must take as knock ports
// although the user's own pool is only its port list. The URI comes from
// `otpknockd user uri` (a user of the config file), the knock from the real client.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { normalizeProfile, parseOtpauthUri, totpCodeOf, windowAt } from '@otpknock/shared';
import {
  describeE2E,
  startService,
  tcpProbe,
  useTopology,
  NODE,
  type NsProcess,
  type Topology,
} from '@otpknock/e2e-harness';
import { KNOCK, otpknockd, startDaemon, testUser, writeConfig, type ConfigDir } from './support/otpknockd.js';

const PERIOD = 30;
const dave = testUser('dave');

describeE2E('code mode of a list-modulo user', () => {
  const topo = useTopology();
  let t: Topology;
  let cfg: ConfigDir;
  let daemon: NsProcess;
  let home: string;

  beforeAll(async () => {
    t = topo();
    home = mkdtempSync(join(tmpdir(), 'otpknock-client-'));
    cfg = writeConfig(
      (secretFile) => `
skew: 1
knock: { method: list-modulo, period: ${PERIOD}, ports: [7001, 7002, 7003, 7004, 7005, 7006], exclude: [20000] }
services:
  ssh: { port: 22, open_for: 30s }
users:
  dave: { secret_file: ${secretFile(dave)}, code_mode: true }
`,
    );
    await startService(t, 'server', 22);
    daemon = await startDaemon(t, cfg.file);
  });
  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  it("knock --code with the app's code opens, from the URI that user uri printed", async () => {
    const uri = await otpknockd(t, ['user', 'uri', 'dave', '--host', t.server.ipv4, '--json', '--config', cfg.file]);
    expect(uri.code, uri.stderr).toBe(0);
    await knockWithAppCode(t, home, (JSON.parse(uri.stdout) as { uri: string }).uri, PERIOD);
  });
});

// A code-mode user added to the store of a list-modulo server widens the knock ports to the
// range: the daemon must load the whole table for it at the boundary (it once logged "send
// SIGHUP" and kept the old users).
describeE2E('code mode of a list-modulo user added with user add --code-mode', () => {
  const STORE_PERIOD = 10;
  const topo = useTopology();
  let t: Topology;
  let cfg: ConfigDir;
  let daemon: NsProcess;
  let home: string;

  beforeAll(async () => {
    t = topo();
    home = mkdtempSync(join(tmpdir(), 'otpknock-client-'));
    cfg = writeConfig(
      (secretFile) => `
skew: 1
user_store: users.d
knock: { method: list-modulo, period: ${STORE_PERIOD}, ports: [7001, 7002, 7003, 7004, 7005, 7006], exclude: [20000] }
services:
  ssh: { port: 22, open_for: 30s }
users:
  dave: { secret_file: ${secretFile(dave)} }
`,
    );
    mkdirSync(join(cfg.dir, 'users.d'), { mode: 0o700 });
    await startService(t, 'server', 22);
    daemon = await startDaemon(t, cfg.file);
  });
  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  it('the store user opens with the app code once the daemon took it in (no SIGHUP)', async () => {
    const mark = daemon.mark();
    const add = await otpknockd(t, [
      'user',
      'add',
      'erin',
      '--code-mode',
      '--host',
      t.server.ipv4,
      '--json',
      '--no-qr',
      '--config',
      cfg.file,
    ]);
    expect(add.code, add.stderr).toBe(0);
    await daemon.waitForLine(/"event":"users".*loaded table/, { after: mark, timeoutMs: (STORE_PERIOD + 5) * 1000 });
    expect(daemon.stderr()).not.toMatch(/send SIGHUP/);
    await knockWithAppCode(t, home, (JSON.parse(add.stdout) as { uri: string }).uri, STORE_PERIOD);
  });
});

/** Imports `uri` into a fresh store and knocks with the authenticator app's current code; expects it to open. */
async function knockWithAppCode(t: Topology, home: string, uri: string, period: number): Promise<void> {
  const store = join(home, 'profiles.json');
  const env = { ...process.env, XDG_STATE_HOME: join(home, 'state') };
  const imp = await t.exec('client', ['sh', '-c', 'exec "$0" "$1" --config "$2" import -', NODE, KNOCK, store], {
    input: `${uri}\n`,
    env,
  });
  expect(imp.code, imp.stderr).toBe(0);
  expect(await tcpProbe(t, 'client', t.server.ipv4, 22)).toMatchObject({ state: 'closed' });
  const p = parseOtpauthUri(uri);
  const profile = normalizeProfile(p.profile);
  // away from a boundary: the code is the one of the current window
  const into = (Date.now() / 1000) % period;
  if (into > period - 2) await new Promise((r) => setTimeout(r, (period - into + 0.2) * 1000));
  const code = totpCodeOf(p.secret, profile, windowAt(Date.now(), period));
  const r = await t.exec('client', [NODE, KNOCK, '--config', store, t.server.ipv4, '--code', code, '-v'], {
    env,
    timeoutMs: 15_000,
  });
  // a window whose code lands on the excluded port cannot open, and the client says so
  if (/lands on port 20000/.test(r.stderr)) expect(r.code).toBe(1);
  else expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
}
