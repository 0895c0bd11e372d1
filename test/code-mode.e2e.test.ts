// Code mode of a list-modulo user, end to end (issue #13): its code-mode knocks are
// drawn from the range (protocol.md §10), which the kernel must take as knock ports
// although the user's own pool is only its port list. The URI comes from
// `otpknockd user uri` (a user of the config file), the knock from the real client.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { normalizeProfile, parseOtpauthUri, totpCodeOf, windowAt } from '@otpknock/shared';
import { describeE2E, KNOCK, NODE, otpknockd, tcpProbe, testUser, useDaemon, type Topology } from './support/e2e.js';

const PERIOD = 30;
const STORE_PERIOD = 10;
const dave = testUser('dave');
const knockLine = (period: number) =>
  `knock: { method: list-modulo, period: ${period}, ports: [7001, 7002, 7003, 7004, 7005, 7006], exclude: [20000] }`;

/** A client home of its own per suite (the profile store and used windows). */
function useClientHome(): () => string {
  let home: string | undefined;
  beforeAll(() => void (home = mkdtempSync(join(tmpdir(), 'otpknock-client-'))));
  afterAll(() => home && rmSync(home, { recursive: true, force: true }));
  return () => home!;
}

describeE2E('code mode of a list-modulo user', () => {
  const fx = useDaemon({
    services: 22,
    config: (secretFile) => `
skew: 1
${knockLine(PERIOD)}
services:
  ssh: { port: 22, open_for: 30s }
users:
  dave: { secret_file: ${secretFile(dave)}, code_mode: true }
`,
  });
  const home = useClientHome();

  it("knock --code with the app's code opens, from the URI that user uri printed", async () => {
    const uri = await otpknockd(fx.t, [
      'user',
      'uri',
      'dave',
      '--host',
      fx.t.server.ipv4,
      '--json',
      '--config',
      fx.cfg.file,
    ]);
    expect(uri.code, uri.stderr).toBe(0);
    await knockWithAppCode(fx.t, home(), (JSON.parse(uri.stdout) as { uri: string }).uri, PERIOD);
  });
});

// A code-mode user added to the store of a list-modulo server widens the knock ports to the
// range: the daemon must load the whole table for it at the boundary (it once logged "send
// SIGHUP" and kept the old users).
describeE2E('code mode of a list-modulo user added with user add --code-mode', () => {
  const fx = useDaemon({
    services: 22,
    config: (secretFile) => `
skew: 1
user_store: users.d
${knockLine(STORE_PERIOD)}
services:
  ssh: { port: 22, open_for: 30s }
users:
  dave: { secret_file: ${secretFile(dave)} }
`,
    prepare: () => mkdirSync(join(fx.cfg.dir, 'users.d'), { mode: 0o700 }),
  });
  const home = useClientHome();

  it('the store user opens with the app code once the daemon took it in (no SIGHUP)', async () => {
    const mark = fx.daemon.mark();
    const add = await otpknockd(fx.t, [
      'user',
      'add',
      'erin',
      '--code-mode',
      '--host',
      fx.t.server.ipv4,
      '--json',
      '--no-qr',
      '--config',
      fx.cfg.file,
    ]);
    expect(add.code, add.stderr).toBe(0);
    await fx.daemon.waitForLine(/"event":"users".*loaded table/, { after: mark, timeoutMs: (STORE_PERIOD + 5) * 1000 });
    expect(fx.daemon.stderr()).not.toMatch(/send SIGHUP/);
    await knockWithAppCode(fx.t, home(), (JSON.parse(add.stdout) as { uri: string }).uri, STORE_PERIOD);
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
