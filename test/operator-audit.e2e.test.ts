// Issue #13 §4: every operator action leaves a line in state_dir/audit.jsonl — who (uid,
// SUDO_USER, SUDO_UID), what, when, the result — and `user list`'s LAST OPEN shows the
// last open, not a close. The real otpknockd in the server namespace; the actions run
// as sudo would run them (SUDO_USER and SUDO_UID in the environment).
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeE2E, NODE, pollUntil, sendUdp, setElementKeys } from '@otpknock/e2e-harness';
import { OTPKNOCKD, sequencesFor, testUser, useDaemon, usersYaml } from './support/otpknockd.js';

const PERIOD = 30;
const PROFILE = { method: 'time', period: PERIOD, length: 3, range: { min: 20000, max: 40000 } } as const;
const ALICE = testUser('alice', 'operator-audit-alice');
const SUDO = { SUDO_USER: 'opsalice', SUDO_UID: '1234' };

interface Line {
  event: string;
  action?: string;
  target?: string;
  result?: string;
  [key: string]: unknown;
}

describeE2E('operator actions are audited; user list shows the last open (issue #13 §4)', () => {
  const fx = useDaemon({
    services: [8080],
    config: (secretFile) => `
user_store: users.d
skew: 1
step_timeout: 2s
knock: { method: time, period: ${PERIOD}, length: 3, range: 20000-40000 }
services:
  web: { port: 8080, open_for: 30s }
users:
${usersYaml([ALICE], secretFile)}
`,
  });
  const auditFile = () => join(fx.cfg.dir, 'state', 'audit.jsonl');
  const audit = (): Line[] =>
    existsSync(auditFile())
      ? readFileSync(auditFile(), 'utf8')
          .trim()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Line)
      : [];
  /** Runs `otpknockd ARGS --config FILE` in the server namespace as sudo would. */
  const op = (args: string[], config = fx.cfg.file) =>
    fx.t.exec('server', [NODE, OTPKNOCKD, ...args, '--config', config], {
      env: { ...process.env, ...SUDO },
      timeoutMs: 20_000,
    });

  it('open, close, mode, user add/disable/enable/rotate/remove, apply, confirm and the automatic revert: one record each', async () => {
    const steps: [string[], string, string | undefined][] = [
      [['open', fx.t.client.ipv4, '--service', 'web', '--for', '1m'], 'open', fx.t.client.ipv4],
      [['close', fx.t.client.ipv4], 'close', fx.t.client.ipv4],
      [['mode', 'closed'], 'mode', 'closed'],
      [['mode', 'knock'], 'mode', 'knock'],
      [['user', 'add', 'bob', '--json', '--host', fx.t.server.ipv4], 'user add', 'bob'],
      [['user', 'disable', 'bob'], 'user disable', 'bob'],
      [['user', 'enable', 'bob'], 'user enable', 'bob'],
      [['user', 'rotate', 'bob', '--grace', '0s', '--json'], 'user rotate', 'bob'],
      [['user', 'remove', 'bob'], 'user remove', 'bob'],
    ];
    const started = new Date().toISOString();
    for (const [args, action, target] of steps) {
      const before = audit().length;
      const r = await op(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      const added = audit().slice(before);
      expect(added, args.join(' ')).toHaveLength(1);
      expect(added[0]).toMatchObject({
        event: 'operator',
        action,
        result: 'ok',
        uid: 0,
        sudoUser: 'opsalice',
        sudoUid: 1234,
        ...(target === undefined ? {} : { target }),
      });
      expect(String(added[0]!['time']) >= started).toBe(true);
    }
    const [open, , mode] = audit().slice(-steps.length);
    expect(open).toMatchObject({ details: { services: ['web'], forMs: 60_000 } });
    expect(mode).toMatchObject({ details: { previous: 'knock' } });
    // No secret in any record (user add and rotate print one; the audit never holds it).
    expect(readFileSync(auditFile(), 'utf8')).not.toMatch(/secret=|"secret"/);

    // A refused action is audited too, with the reason: a user not in the store, a user of
    // the config file (changed there, not by user commands), an unknown service.
    const refusals: [string[], string, string, RegExp][] = [
      [['user', 'disable', 'nobody'], 'user disable', 'nobody', /no user nobody in the user store/],
      [
        ['user', 'remove', 'alice'],
        'user remove',
        'alice',
        /user alice is defined in the config file .*not in the user store/,
      ],
      [['user', 'rotate', 'alice'], 'user rotate', 'alice', /user alice is defined in the config file/],
      [['user', 'add', 'erin', '--service', 'smtp'], 'user add', 'erin', /unknown service "smtp"/],
      [['open', fx.t.client.ipv4, '--service', 'smtp'], 'open', fx.t.client.ipv4, /unknown service "smtp"/],
    ];
    for (const [args, action, target, reason] of refusals) {
      const before = audit().length;
      const r = await op(args);
      expect(r.code, args.join(' ')).toBe(2);
      const added = audit().slice(before);
      expect(added, args.join(' ')).toEqual([
        expect.objectContaining({ event: 'operator', action, target, result: 'refused', uid: 0, sudoUser: 'opsalice' }),
      ]);
      expect(String(added[0]!['reason'])).toMatch(reason);
      expect(r.stderr).toMatch(reason);
    }

    // An apply of a file that does not validate is refused for the running daemon: audited.
    const bad = join(fx.cfg.dir, 'bad.yaml');
    writeFileSync(bad, `${readFileSync(fx.cfg.file, 'utf8')}tabel: otpknock\n`, { mode: 0o600 });
    const badApply = await op(['apply', '--confirm-within', '5s'], bad);
    expect(badApply.code).toBe(2);
    expect(audit().at(-1)).toMatchObject({ action: 'apply', target: bad, result: 'refused', sudoUser: 'opsalice' });
    expect(String(audit().at(-1)!['reason'])).toMatch(/tabel: unknown field/);

    // apply + confirm, then apply left unconfirmed: the watchdog's revert is audited.
    const next = join(fx.cfg.dir, 'next.yaml');
    copyFileSync(fx.cfg.file, next);
    const applied = await op(['apply', '--confirm-within', '5s'], next);
    expect(applied.code, applied.stderr).toBe(0);
    expect(audit().at(-1)).toMatchObject({ action: 'apply', target: next, result: 'ok', sudoUser: 'opsalice' });
    const confirmed = await op(['confirm']);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(audit().at(-1)).toMatchObject({ action: 'confirm', result: 'ok', details: { applied: next } });
    const again = await op(['apply', '--confirm-within', '5s'], next);
    expect(again.code, again.stderr).toBe(0);
    const revert = await pollUntil(() => audit().find((l) => l.action === 'revert'), {
      timeoutMs: 30_000,
      message: 'the watchdog reverts the unconfirmed apply and audits it',
    });
    expect(revert).toMatchObject({
      event: 'operator',
      result: 'ok',
      uid: 0,
      sudoUser: 'opsalice',
      details: { reason: 'not confirmed within the time given', applied: next },
    });
  }, 90_000);

  it('why ADDR shows who lifted its ban and when (otpknockd unban)', async () => {
    // the default ban: 10 bad knocks within 1 minute
    await sendUdp(
      fx.t,
      'eve',
      fx.t.server.ipv4,
      Array.from({ length: 10 }, (_, i) => 39_990 - 7 * i),
      { delayMs: 5 },
    );
    await pollUntil(async () => (await setElementKeys(fx.t, 'server', 'otpknock', 'banned4')).includes(fx.t.eve.ipv4), {
      timeoutMs: 5_000,
      message: 'eve banned',
    });
    const lifted = await op(['unban', fx.t.eve.ipv4]);
    expect(lifted.code, lifted.stderr).toBe(0);
    const why = await op(['why', fx.t.eve.ipv4]);
    expect(why.code, why.stderr).toBe(0);
    const unbanned = audit()
      .filter((l) => l.action === 'unban')
      .at(-1)!;
    expect(why.stdout).toContain(`  last unban: ${String(unbanned['time'])} by uid 0 (sudo opsalice, uid 1234), with `);
    expect(why.stdout).toMatch(/banned: no\n {2}last unban: .* of the ban left\n/);
    const json = JSON.parse((await op(['why', fx.t.eve.ipv4, '--json'])).stdout) as { lastUnban: unknown };
    expect(json.lastUnban).toMatchObject({ time: unbanned['time'], uid: 0, sudoUser: 'opsalice', sudoUid: 1234 });
    // an address never unbanned has no such line
    expect((await op(['why', fx.t.client.ipv4])).stdout).not.toContain('last unban');
  });

  it('status shows a reload the daemon refused (SIGHUP) until a reload succeeds', async () => {
    const good = readFileSync(fx.cfg.file, 'utf8');
    const status = async () => {
      const r = await op(['status']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(await status()).not.toContain('REFUSED');
    try {
      expect(await fx.reload(`${good}tabel: otpknock\n`)).toMatch(/new config refused/);
      const text = await pollUntil(async () => ((s) => (s.includes('REFUSED') ? s : false))(await status()), {
        timeoutMs: 5_000,
        message: 'status shows the refused reload',
      });
      expect(text).toMatch(
        /config: the last reload, at \S+Z, was REFUSED; the config loaded before it stays live until a reload succeeds \(fix the file, then: systemctl reload otpknockd\)\. Why:\n {2}.*tabel: unknown field/,
      );
      // the live file is the broken one: status still reports on the daemon, and says so
      expect(text).toMatch(/^config file: does not load now; this status reads its table and state_dir as written/m);
      expect(text).toMatch(/^table inet otpknock: loaded$/m);
      const json = JSON.parse((await op(['status', '--json'])).stdout) as { reloadRefused: { reason: string } | null };
      expect(json.reloadRefused?.reason).toMatch(/tabel: unknown field/);
    } finally {
      expect(await fx.reload(good)).not.toMatch(/refused/);
    }
    await pollUntil(async () => !(await status()).includes('REFUSED'), {
      timeoutMs: 5_000,
      message: 'a good reload clears it',
    });
    expect(
      (JSON.parse((await op(['status', '--json'])).stdout) as { reloadRefused: unknown }).reloadRefused,
    ).toBeNull();
  });

  it("user list's LAST OPEN is the last open knock, not the close that followed it", async () => {
    await fx.daemon.waitForLine(/reading opens from NFLOG group/, { timeoutMs: 10_000 });
    const ip = fx.t.server.ipv4;
    const seq = sequencesFor(ALICE.secret, PROFILE);
    await sendUdp(fx.t, 'client', ip, seq.open, { delayMs: 5 });
    const openLine = await pollUntil(() => audit().find((l) => l.event === 'open' && l['user'] === 'alice'), {
      timeoutMs: 5_000,
      message: 'the open knock in the audit',
    });
    await sendUdp(fx.t, 'client', ip, seq.close, { delayMs: 5 });
    await pollUntil(() => audit().find((l) => l.event === 'close' && l['user'] === 'alice'), {
      timeoutMs: 5_000,
      message: 'the close knock in the audit',
    });
    const list = await op(['user', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { name: string; lastOpen: Line | null }[];
    expect(rows.find((r) => r.name === 'alice')?.lastOpen).toMatchObject({ event: 'open', time: openLine['time'] });
    const table = await op(['user', 'list']);
    expect(table.stdout).toContain(`${String(openLine['time'])} from ${fx.t.client.ipv4}`);
  });
});
