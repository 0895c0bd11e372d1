// Issue #13 §3, the client's part: every knock that does not open says why, as far as
// the client can see, with its exit code, within the bound knock --help states
// ((retries + 2) × timeout + 1 s). The real `knock` bundle in the client namespace, the
// real otpknockd and nftables in the server namespace; the faults are made in the
// server namespace (a firewall table of the test's own) or by the client's routes.
// Prints how long each failure took to report (node start-up included).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyNft, describeE2E, knockProfile, testUser, useDaemon, usersYaml } from './support/e2e.js';

/** Guarded, a service listens. */
const GUARDED = 8080;
/** Guarded, nothing listens. */
const GUARDED_EMPTY = 8081;
/** Guarded, and a firewall table of the test's own rejects it with a TCP reset first. */
const RESET = 8082;
/** Guarded, and the test's table answers it with ICMP host unreachable. */
const ICMP = 8083;
/** Guarded, and the test's table answers it with ICMP port unreachable (what iptables' REJECT sends by default). */
const ICMP_PORT = 8084;
/** Not guarded, a service listens. */
const UNGUARDED = 9090;
/** Not guarded, nothing listens. */
const UNGUARDED_EMPTY = 9091;

const KNOCK_ARGS = ['--method', 'time', '--period', '30', '--length', '3', '--range', '20000-40000'];
// One user per kind of test, each allowed only its services, so that no test's valid knock
// opens a port another test expects closed.
const GOOD = testUser('good', 'diag-e2e-good', { services: ['web'] });
const EMPTY = testUser('empty', 'diag-e2e-empty', { services: ['empty'] });
const OTHER = testUser('other', 'diag-e2e-other', { services: ['reset', 'icmp'] });
const USERS = [GOOD, EMPTY, OTHER];
const TIMEOUT_S = 3;
const RETRIES = 1;
/** The stated bound, and room for node's start-up on a loaded machine. */
const BOUND_MS = (RETRIES + 2) * TIMEOUT_S * 1000 + 1000;
const STARTUP_SLACK_MS = 3000;

describeE2E('knock says why a knock did not open (issue #13 §3)', () => {
  const fx = useDaemon({
    services: [GUARDED, UNGUARDED],
    config: (secretFile) => `
skew: 1
step_timeout: 2s
knock: { method: time, period: 30, length: 3, range: 20000-40000 }
services:
  web: { port: ${GUARDED}, open_for: 30s }
  empty: { port: ${GUARDED_EMPTY}, open_for: 30s }
  reset: { port: ${RESET}, open_for: 30s }
  icmp: { port: ${ICMP}, open_for: 30s }
  icmpport: { port: ${ICMP_PORT}, open_for: 30s }
users:
${usersYaml(USERS, secretFile)}
`,
  });
  let home: string;
  /** One line per knock run: the profile, exit code, time to report, the message's last line. */
  const figures: string[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'otpknock-diag-e2e-'));
    // The faults a firewall makes, in the server namespace only, before otpknockd's chain.
    await applyNft(
      fx.t,
      'server',
      `table inet difftest {
  chain input {
    type filter hook input priority -10; policy accept;
    tcp dport ${RESET} reject with tcp reset
    tcp dport ${ICMP} reject with icmpx type host-unreachable
    tcp dport ${ICMP_PORT} reject with icmpx type port-unreachable
  }
}
`,
    );
  });

  afterAll(() => {
    console.log(`time to report each failure (knock started to exit, node start-up included):\n${figures.join('\n')}`);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** A store with one profile; `knock` runs the real bundle with it in the client namespace. */
  const profile = async (name: string, secret: Uint8Array, extra: string[]) => {
    const env = { ...process.env, XDG_STATE_HOME: join(home, `state-${name}`) };
    const { knock } = await knockProfile(fx.t, home, name, secret, [...KNOCK_ARGS, ...extra], {
      env,
      timeoutMs: 30_000,
    });
    return async (args: string[] = [name]) => {
      const started = Date.now();
      const r = await knock(args);
      const ms = Date.now() - started;
      const said =
        r.stderr
          .split('\n')
          .filter((l) => l.startsWith('knock: '))
          .pop() ?? '';
      figures.push(`  ${name.padEnd(16)} exit ${r.code}  ${(ms / 1000).toFixed(2)} s  ${said}`);
      return { ...r, ms };
    };
  };

  /** The profile's address and port: the server, `port`. */
  const serverPort = (port: number) => ['--address', fx.t.server.ipv4, '--port', String(port)];

  /** The time knock reports in its message ("N knock(s), T s"): its own, without Node's start-up. */
  const reportedSeconds = (stderr: string): number => {
    const m = /\d+ knocks?, (\d+\.\d) s\)/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    return Number(m![1]);
  };

  const withinBound = (ms: number, bound = BOUND_MS) => expect(ms).toBeLessThan(bound + STARTUP_SLACK_MS);

  it('dropped (a knock the server refuses): exit 1, says what only the server sees and which command asks it', async () => {
    const knock = await profile('dropped', testUser('x', 'diag-e2e-not-a-user').secret, serverPort(GUARDED));
    const r = await knock();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`dropped (${fx.t.server.ipv4}) port ${GUARDED}: no answer after 2 knocks`);
    expect(r.stderr).toMatch(/clock[\s\S]*profile[\s\S]*already used[\s\S]*banned[\s\S]*mode closed/);
    expect(r.stderr).toContain(`sudo otpknockd why ${fx.t.client.ipv4}`);
    expect(r.stderr).toMatch(
      /this machine's clock more\s+than one window off \(it says \d{4}-\d\d-\d\dT[\d:]+Z; compare: date -u on the server\)/,
    );
    expect(r.ms).toBeGreaterThanOrEqual(2 * TIMEOUT_S * 1000);
    withinBound(r.ms);
    // Again at once (the old ~45 s case: the stale profile's windows are used): a bounded
    // wait for the next window at most, else at once with the time to knock again.
    const again = await knock();
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toMatch(/sequences the server accepts now were sent already|no answer after/);
    expect(again.stderr).toContain(`sudo otpknockd why ${fx.t.client.ipv4}`);
    withinBound(again.ms);
  });

  it('reset by a firewall before and after the knock: exit 4, the port is not guarded by otpknockd, one knock', async () => {
    const knock = await profile('reset', OTHER.secret, serverPort(RESET));
    const r = await knock();
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`reset (${fx.t.server.ipv4}) port ${RESET}: refused before the knock as after it`);
    expect(r.stderr).toContain('is not guarded by otpknockd');
    // refused before and after: it does not wait out --timeout (the time knock itself reports)
    expect(reportedSeconds(r.stderr)).toBeLessThan(TIMEOUT_S / 2);
    withinBound(r.ms, TIMEOUT_S * 1000 + 1000);
  });

  it('the knock let in, nothing listens: exit 4, silent before the knock, refused after it', async () => {
    const knock = await profile('empty', EMPTY.secret, serverPort(GUARDED_EMPTY));
    const r = await knock();
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('silent before the knock, refused after it');
    expect(r.stderr).toContain(`nothing accepts connections on port ${GUARDED_EMPTY}`);
    withinBound(r.ms, TIMEOUT_S * 1000 + 1000);
  });

  it('not guarded, a service listens: exit 0 with the note that otpknockd does not guard the port', async () => {
    const knock = await profile('unguarded', OTHER.secret, serverPort(UNGUARDED));
    const r = await knock();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `note: unguarded (${fx.t.server.ipv4}) port ${UNGUARDED} accepted a connection before the knock reached it`,
    );
    // A guarded port after a valid knock: no note.
    const good = await profile('guarded', GOOD.secret, serverPort(GUARDED));
    const g = await good();
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).not.toMatch(/note:/);
  });

  it('not guarded, nothing listens: exit 4, refused before the knock', async () => {
    const knock = await profile('closed', OTHER.secret, serverPort(UNGUARDED_EMPTY));
    const r = await knock();
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('refused before the knock as after it');
    expect(reportedSeconds(r.stderr)).toBeLessThan(TIMEOUT_S / 2);
  });

  // Before the host-unreachable test: the server's kernel rate-limits its ICMP errors per
  // destination (a burst of 6, then 1 a second), and that test uses them up.
  it('ICMP port unreachable (a REJECT): exit 4 like a reset, refused before the knock', async () => {
    const knock = await profile('icmpport', OTHER.secret, ['--address', fx.t.server.ipv4, '--port', String(ICMP_PORT)]);
    const r = await knock();
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(
      `icmpport (${fx.t.server.ipv4}) port ${ICMP_PORT}: refused before the knock as after it (TCP reset or ICMP port unreachable`,
    );
    expect(reportedSeconds(r.stderr)).toBeLessThan(TIMEOUT_S / 2);
    withinBound(r.ms, TIMEOUT_S * 1000 + 1000);
  });

  it('ICMP host unreachable: exit 3, nothing reached otpknockd', async () => {
    const knock = await profile('icmp', OTHER.secret, serverPort(ICMP));
    const r = await knock();
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`icmp (${fx.t.server.ipv4}) port ${ICMP}: host unreachable`);
    withinBound(r.ms, TIMEOUT_S * 1000 + 1000);
  });

  it('no route: exit 3 at once, the knock cannot be sent', async () => {
    // The client namespace has routes for its own link only: 198.51.100.0/24 is not on it.
    const knock = await profile('noroute', OTHER.secret, ['--address', '198.51.100.1']);
    const r = await knock();
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/cannot send the knock to 198\.51\.100\.1: no route to it \(network unreachable\)/);
    withinBound(r.ms, 1000);
  });

  it('a name that does not resolve: exit 3, names the DNS', async () => {
    // The namespace has no route to the host's name server: the lookup fails at once, nothing leaves it.
    const knock = await profile('nowhere.invalid', OTHER.secret, []);
    const r = await knock();
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/cannot resolve nowhere\.invalid: (no such host \(DNS\)|no answer from the name server)/);
  });
});
