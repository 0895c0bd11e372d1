// Lockout safety end to end: doctor, apply/confirm/revert, crash/stop
// behaviour and the break-glass sequence, with the real daemon and real nft
// in throw-away namespaces (server 192.0.2.1, client .2, eve .3).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  NODE,
  OTPKNOCKD,
  applyNft,
  describeE2E,
  knockThenProbe,
  listTable,
  nft,
  openHeldConnection,
  otpknockd,
  pollUntil,
  sendUdp,
  sequencesFor,
  startDaemon,
  startService,
  startUdpListener,
  tableShape,
  tcpProbe,
  testUser,
  useDaemon,
  usersYaml,
  useTopology,
  writeConfig,
  type ConfigDir,
  type ConfigText,
  type Topology,
} from './support/e2e.js';

const PERIOD = 30;
const alice = testUser('alice');
const profile = { method: 'time', period: PERIOD, range: '10000-30000' };

/** A config with the given services (name: port) and extra top-level lines (its state in its own dir unless they name one). */
const configYaml =
  (services: Record<string, number>, extra = ''): ConfigText =>
  (secretFile) => `
skew: 1
${extra}
knock: ${JSON.stringify(profile)}
services:
${Object.entries(services)
  .map(([name, port]) => `  ${name}: { port: ${port}, open_for: 30s }`)
  .join('\n')}
users:
${usersYaml([alice], secretFile)}
`;

/** Names of the allowed sets in the table: which services the loaded config protects. */
async function servicesInTable(t: Topology, table = 'otpknock'): Promise<string[] | null> {
  const objs = await listTable(t, 'server', 'inet', table);
  if (objs === null) return null;
  return objs
    .map((o) => (o.set as { name?: string } | undefined)?.name ?? '')
    .filter((n) => n.startsWith('allowed4_'))
    .map((n) => n.slice('allowed4_'.length))
    .sort();
}

async function knockOpen(t: Topology, from: 'client' | 'eve', offset = 0): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - 2) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
  await sendUdp(t, from, t.server.ipv4, sequencesFor(alice.secret, profile, offset).open, { delayMs: 5 });
}

interface Finding {
  check: string;
  severity: string;
  message: string;
  fix?: string;
}

describeE2E('otpknockd doctor', () => {
  const topo = useTopology();
  let t: Topology;
  let cfg: ConfigDir;

  beforeAll(async () => {
    t = topo();
    cfg = writeConfig(configYaml({ ssh: 22 }));
    await startService(t, 'server', 22);
  });
  afterAll(() => cfg?.cleanup());

  const doctor = async () => {
    const r = await otpknockd(t, ['doctor', '--config', cfg.file, '--json']);
    const out = JSON.parse(r.stdout) as { ok: boolean; findings: Finding[] };
    return { code: r.code, ...out, problems: out.findings.filter((f) => f.severity === 'problem') };
  };

  it('finds no problem on a clean server namespace (exit 0)', async () => {
    const d = await doctor();
    expect(d.problems).toEqual([]);
    expect(d.code).toBe(0);
    expect(d.ok).toBe(true);
    const by = (check: string) => d.findings.filter((f) => f.check === check);
    expect(by('nft')[0]).toMatchObject({ severity: 'ok', message: expect.stringMatching(/^nftables v\d/) });
    expect(by('kernel')[0]).toMatchObject({ severity: 'ok' });
    expect(by('firewall')[0]).toMatchObject({ severity: 'ok', message: 'no other nftables tables' });
    // before otpknockd runs, sshd is reachable from outside: protecting it hides it (issue #13)
    expect(by('services')[0]).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(/^ssh: tcp\/22 is served on .* and reachable from outside today; once protected/),
    });
    expect(['ok', 'warning']).toContain(by('clock')[0]!.severity); // "unknown" in a container is a warning, with why
    // no break_glass in this config: a stopped daemon keeps its table, so doctor says how one gets back in
    expect(by('lockout')[0]).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(/^no break_glass sequence/),
    });
  });

  it('a protected service behind the loaded table is ok; one that serves the outside today is a warning', async () => {
    const daemon = await startDaemon(t, cfg.file);
    try {
      const d = await doctor();
      expect(d.findings.find((f) => f.check === 'services')).toMatchObject({
        severity: 'ok',
        message: expect.stringMatching(/ssh: something listens on tcp\/22 .*behind the knock/),
      });
    } finally {
      await daemon.stop('SIGTERM');
    }
  });

  it('finds a planted drop table and a UDP listener inside the knock range (exit 1), and says what to do', async () => {
    await applyNft(
      t,
      'server',
      'table inet blocker {\n\tchain c {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n',
    );
    const listener = await startUdpListener(t, 'server', [12345]);
    try {
      const d = await doctor();
      expect(d.code).toBe(1);
      expect(d.ok).toBe(false);
      const fw = d.problems.find((f) => f.check === 'firewall');
      expect(fw?.message).toMatch(
        /^table inet blocker, chain c \(hook input, priority 0, policy drop\) drops new TCP connections to ssh \(port 22\)/,
      );
      expect(fw?.message).toMatch(/UDP knocks/);
      expect(fw?.fix).toMatch(/nft insert rule inet blocker c tcp dport 22 accept/);
      const sock = d.problems.find((f) => f.check === 'sockets');
      expect(sock?.message).toMatch(/UDP socket listens on port 12345/);
      expect(sock?.fix).toMatch(/add 12345 to knock\.exclude/);
      // the text form says the same, with PROBLEM lines and a summary
      const text = await otpknockd(t, ['doctor', '--config', cfg.file]);
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^PROBLEM {2}firewall: table inet blocker/m);
      expect(text.stdout).toMatch(/2 problems/);
    } finally {
      await listener.stop();
      await nft(t, 'server', ['delete', 'table', 'inet', 'blocker']);
    }
  });

  it('reports a broken config as a problem and still runs the other checks', async () => {
    const bad = writeConfig(() => 'services: {}\nusers: {}\n');
    try {
      const r = await otpknockd(t, ['doctor', '--config', bad.file, '--json']);
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout) as { findings: Finding[] };
      expect(out.findings.find((f) => f.check === 'config')).toMatchObject({
        severity: 'problem',
        message: expect.stringMatching(/otpknockd\.yaml:1: services/),
      });
      expect(out.findings.find((f) => f.check === 'nft')).toMatchObject({ severity: 'ok' });
    } finally {
      bad.cleanup();
    }
  });
});

describeE2E('otpknockd apply / confirm / revert', () => {
  const fx = useDaemon({ services: [22, 443], config: configYaml({ ssh: 22 }) });
  let t: Topology;
  /** The live config's state dir, which the next config shares (apply keeps its record there). */
  let state: string;
  let live: ConfigDir;
  let next: ConfigDir;
  let liveText: string;

  beforeAll(async () => {
    t = fx.t;
    live = fx.cfg;
    state = join(live.dir, 'state');
    next = writeConfig(configYaml({ ssh: 22, api: 443 }, `state_dir: ${state}`));
    liveText = readFileSync(live.file, 'utf8');
    await pollUntil(async () => readFileSync(join(state, 'daemon.json'), 'utf8').includes(String(fx.daemon.pid)), {
      timeoutMs: 5_000,
      message: 'daemon.json written',
    });
  });
  afterAll(() => next?.cleanup());
  afterEach(() => {
    // every test leaves the live file as it found it, whatever the outcome
    expect(readFileSync(live.file, 'utf8')).toBe(liveText);
  });

  it('refuses an invalid config and changes nothing (exit 2, file:line named)', async () => {
    const bad = writeConfig(
      () =>
        `state_dir: ${state}\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: /nonexistent/alice }\n`,
    );
    try {
      const before = await listTable(t, 'server', 'inet', 'otpknock', { format: 'text' });
      const r = await otpknockd(t, ['apply', '--config', bad.file, '--confirm-within', '10s']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(`${bad.file}:5: users\\.alice\\.secret_file: /nonexistent/alice does not exist`),
      );
      expect(r.stderr).toMatch(/nothing from it was applied/);
      const after = await listTable(t, 'server', 'inet', 'otpknock', { format: 'text' });
      expect(tableShape(after)).toBe(tableShape(before));
      expect(await servicesInTable(t)).toEqual(['ssh']);
      const pending = await otpknockd(t, ['confirm', '--state-dir', state]);
      expect(pending.code).toBe(1);
      expect(pending.stderr).toMatch(/nothing to confirm/);
    } finally {
      bad.cleanup();
    }
    // a bad duration is refused before anything else
    const r = await otpknockd(t, ['apply', '--config', next.file, '--confirm-within', '2']);
    expect(r.code).toBe(2); // a usage error
    expect(r.stderr).toMatch(/--confirm-within: "2" is a bare number/);
    expect(await servicesInTable(t)).toEqual(['ssh']);
  });

  it('reverts in time without confirm, also after the session that ran apply hung up: the table shows the old services again; a live session survives both reloads', async () => {
    await knockOpen(t, 'client');
    const held = await openHeldConnection(t, 'client', t.server.ipv4, 22);
    // As from an ssh session that drops right after apply: its session gets SIGHUP (setsid: that
    // session and no other); the watchdog, detached into a session of its own, lives on.
    const r = await t.exec(
      'server',
      [
        'setsid',
        'bash',
        '-c',
        `${NODE} ${OTPKNOCKD} apply --config ${next.file} --confirm-within 5s; echo "apply exited $?"; kill -HUP 0`,
      ],
      { timeoutMs: 20_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/apply exited 0\n/);
    expect(r.stdout).toMatch(/otpknockd confirm --state-dir/);
    expect(r.stdout).toMatch(/within 5s/);
    expect(await servicesInTable(t)).toEqual(['api', 'ssh']);
    expect(readFileSync(live.file, 'utf8')).toBe(readFileSync(next.file, 'utf8'));
    expect(await held.echo('after apply')).toContain('after apply');
    const started = Date.now();
    await pollUntil(async () => JSON.stringify(await servicesInTable(t)) === '["ssh"]', {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: 'old services back',
    });
    expect(Date.now() - started).toBeGreaterThan(2_500); // not before the deadline
    expect(readFileSync(live.file, 'utf8')).toBe(liveText);
    // the watchdog writes its record just after the reload took effect: wait for it
    const lastFile = join(state, 'apply', 'last.json');
    await pollUntil(async () => existsSync(lastFile) && /"reverted"/.test(readFileSync(lastFile, 'utf8')), {
      timeoutMs: 5_000,
      message: 'apply/last.json says reverted',
    });
    expect(JSON.parse(readFileSync(lastFile, 'utf8'))).toMatchObject({ result: 'reverted', reload: 'loaded' });
    const applyLog = join(state, 'apply', 'apply.log'); // appended just after last.json
    await pollUntil(
      async () => existsSync(applyLog) && /reverted .*; reload: loaded\n$/.test(readFileSync(applyLog, 'utf8')),
      {
        timeoutMs: 5_000,
        message: 'apply/apply.log says reverted',
      },
    );
    expect(await held.echo('after revert')).toContain('after revert');
    held.close();
    const late = await otpknockd(t, ['confirm', '--state-dir', state]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/already reverted/);
  });

  it('keeps the new config when confirmed in time', async () => {
    const r = await otpknockd(t, ['apply', '--config', next.file, '--confirm-within', '5s']);
    expect(r.code).toBe(0);
    expect(await servicesInTable(t)).toEqual(['api', 'ssh']);
    const c = await otpknockd(t, ['confirm', '--config', live.file]); // state_dir read from the (new) live config
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    await new Promise((res) => setTimeout(res, 7_000));
    expect(await servicesInTable(t)).toEqual(['api', 'ssh']);
    expect(readFileSync(live.file, 'utf8')).toBe(readFileSync(next.file, 'utf8'));
    expect(JSON.parse(readFileSync(join(state, 'apply', 'last.json'), 'utf8'))).toMatchObject({ result: 'confirmed' });
    // operations.md: the backup stays in previous.yaml after a confirm, for a manual way back
    expect(readFileSync(join(state, 'apply', 'previous.yaml'), 'utf8')).toBe(liveText);
    // put the old config back for the next test, the same way
    const back = writeConfig(() => liveText);
    try {
      expect((await otpknockd(t, ['apply', '--config', back.file, '--confirm-within', '5s'])).code).toBe(0);
      expect((await otpknockd(t, ['confirm', '--state-dir', state])).code).toBe(0);
    } finally {
      back.cleanup();
    }
    expect(await servicesInTable(t)).toEqual(['ssh']);
  });

  it('reverts at once with "otpknockd revert", and refuses a second apply while one is pending', async () => {
    expect((await otpknockd(t, ['apply', '--config', next.file, '--confirm-within', '1m'])).code).toBe(0);
    const again = await otpknockd(t, ['apply', '--config', next.file, '--confirm-within', '1m']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/still waiting for confirmation/);
    const r = await otpknockd(t, ['revert', '--state-dir', state]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/holds the previous config again \(daemon: loaded\)/);
    expect(await servicesInTable(t)).toEqual(['ssh']);
  });

  it('revert --config finds the state dir in a live file that is broken (read loosely), and puts the previous one back', async () => {
    expect((await otpknockd(t, ['apply', '--config', next.file, '--confirm-within', '1m'])).code).toBe(0);
    writeFileSync(live.file, `${readFileSync(live.file, 'utf8')}services: [\n`); // an edit in place gone wrong
    expect((await otpknockd(t, ['check', '--config', live.file])).code).toBe(2);
    const r = await otpknockd(t, ['revert', '--config', live.file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/holds the previous config again \(daemon: loaded\)/);
    expect(readFileSync(live.file, 'utf8')).toBe(liveText);
    expect(await servicesInTable(t)).toEqual(['ssh']);
  });

  it('revert --if-stale (ExecStartPre in the unit) reverts only an apply whose watchdog is gone, as after a reboot', async () => {
    expect((await otpknockd(t, ['apply', '--config', next.file, '--confirm-within', '1m'])).code).toBe(0);
    const noop = await otpknockd(t, ['revert', '--if-stale', '--state-dir', state]);
    expect(noop.code).toBe(0);
    expect(noop.stdout).toBe(''); // the watchdog is alive: left alone
    expect(await servicesInTable(t)).toEqual(['api', 'ssh']);
    const pending = JSON.parse(readFileSync(join(state, 'apply', 'pending.json'), 'utf8')) as { watchdogPid: number };
    process.kill(pending.watchdogPid, 'SIGKILL'); // the watchdog this test's apply started: as if the machine rebooted
    await pollUntil(
      async () => !readFileSync(`/proc/${pending.watchdogPid}/cmdline`, 'utf8').includes('apply-watchdog'),
      { timeoutMs: 3_000 },
    ).catch(() => undefined);
    const r = await otpknockd(t, ['revert', '--if-stale', '--state-dir', state]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/holds the previous config again/);
    expect(await servicesInTable(t)).toEqual(['ssh']);
  });

  it('a copy edited elsewhere (/root): relative paths resolve where the live file is; check and apply name the users whose profile changes, and so does the daemon', async () => {
    const { daemon } = fx;
    // The copy names alice's secret file relative to the live file's directory, and adds
    // a service inside the knock range, which leaves its port out of alice's pool.
    const copyDir = mkdtempSync(join(tmpdir(), 'otpknock-copy-'));
    try {
      const copy = join(copyDir, 'otpknockd.new.yaml');
      const relative = liveText.replace(join(live.dir, 'alice.secret'), 'alice.secret');
      expect(relative).toContain('secret_file: alice.secret');
      writeFileSync(copy, relative.replace(/( {2}ssh: .*\n)/, '$1  web: { port: 20000 }\n'), { mode: 0o600 });
      const check = await otpknockd(t, ['check', '--config', copy]);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      expect(check.stdout).toContain(`relative paths resolved against ${live.dir}`);
      expect(check.stdout).toMatch(/the knock profile changes for user alice \(exclude\).*otpknockd user uri alice/);
      const mark = daemon.mark();
      const r = await otpknockd(t, ['apply', '--config', copy, '--confirm-within', '1m']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`resolved against ${live.dir}, where it is installed`);
      expect(r.stdout).toMatch(/note: the knock profile changes for user alice/);
      const line = await daemon.waitForLine(/"event":"profiles"/, { after: mark, timeoutMs: 10_000 });
      expect(JSON.parse(line)).toMatchObject({ level: 'warn', users: 'alice' });
      expect((await otpknockd(t, ['revert', '--state-dir', state])).code).toBe(0);
    } finally {
      rmSync(copyDir, { recursive: true, force: true });
    }
  });

  it('a reload the daemon refuses: its reason is in the pid file, for apply and systemctl reload to print', async () => {
    const { daemon } = fx;
    const mark = daemon.mark();
    live.write(liveText.replace(join(live.dir, 'alice.secret'), '/nonexistent/alice'));
    try {
      daemon.signal('SIGHUP');
      await daemon.waitForLine(/new config refused/, { after: mark, timeoutMs: 10_000 });
      await pollUntil(async () => /"refused"/.test(readFileSync(join(state, 'daemon.json'), 'utf8')), {
        timeoutMs: 5_000,
        message: 'daemon.json says refused',
      });
      const pid = JSON.parse(readFileSync(join(state, 'daemon.json'), 'utf8')) as { lastReload: { reason: string } };
      expect(pid.lastReload.reason).toMatch(/users\.alice\.secret_file: \/nonexistent\/alice does not exist/);
    } finally {
      live.write(liveText);
      daemon.signal('SIGHUP');
    }
  });

  it('refuses to apply the live file onto itself', async () => {
    const r = await otpknockd(t, ['apply', '--config', live.file, '--confirm-within', '10s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is the live config itself/);
  });
});

describeE2E('what the protected services see when the daemon crashes or stops', () => {
  const fx = useDaemon({ services: 22, config: configYaml({ ssh: 22 }) });

  it('crash (SIGKILL): the table stays, so it fails closed; granted addresses and live sessions go on; a restart takes over', async () => {
    const { t, cfg } = fx;
    await knockOpen(t, 'client');
    expect(await tcpProbe(t, 'client', t.server.ipv4, 22)).toMatchObject({ state: 'open' });
    const held = await openHeldConnection(t, 'client', t.server.ipv4, 22);
    await fx.daemon.stop('SIGKILL');
    expect(await servicesInTable(t)).toEqual(['ssh']); // still loaded
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' }); // fail-closed
    expect(await tcpProbe(t, 'client', t.server.ipv4, 22)).toMatchObject({ state: 'open' }); // its grant runs out by itself (open_for)
    expect(await held.echo('after crash')).toContain('after crash');
    // the pid file is stale, not trusted: apply says there is no daemon
    const r = await otpknockd(t, ['apply', '--config', cfg.file, '--confirm-within', '10s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no running otpknockd found/);
    await fx.start(); // what Restart=on-failure does
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' });
    expect(await held.echo('after restart')).toContain('after restart');
    held.close();
  });

  it('stop (SIGTERM), by default: the table stays, so it fails closed; grants and live sessions go on; the break-glass way out is `mode open`', async () => {
    const { t, cfg } = fx;
    if (!fx.daemon.running) await fx.start();
    await knockOpen(t, 'client', 1);
    const held = await openHeldConnection(t, 'client', t.server.ipv4, 22);
    expect((await fx.daemon.stop('SIGTERM')).code).toBe(0);
    expect(await servicesInTable(t)).toEqual(['ssh']);
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' }); // fail closed
    expect(await tcpProbe(t, 'client', t.server.ipv4, 22)).toMatchObject({ state: 'open' }); // its grant runs out by itself (open_for)
    expect(await held.echo('after stop')).toContain('after stop');
    // operations.md's way out from the console while the daemon is stopped
    const open = await otpknockd(t, ['mode', 'open', '--config', cfg.file]);
    expect(open.code, open.stderr).toBe(0);
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22)).toMatchObject({ state: 'open' });
    expect((await otpknockd(t, ['mode', 'knock', '--config', cfg.file])).code).toBe(0);
    await fx.start(); // takes its own table over
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' });
    expect(await held.echo('after restart')).toContain('after restart');
    held.close();
  });

  it('stop with keep_table_on_stop: false: the table is removed, so it fails open to whatever other firewall there is; sessions live', async () => {
    const { t } = fx;
    await fx.daemon.stop('SIGTERM');
    // A fresh start: no kernel table and no state dir that remember the knocks above.
    await applyNft(t, 'server', 'delete table inet otpknock\n');
    const remove = writeConfig(configYaml({ ssh: 22 }, 'keep_table_on_stop: false'));
    try {
      fx.daemon = await startDaemon(t, remove.file);
      await knockOpen(t, 'client', 1);
      const held = await openHeldConnection(t, 'client', t.server.ipv4, 22);
      expect(await tcpProbe(t, 'eve', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' });
      expect((await fx.daemon.stop('SIGTERM')).code).toBe(0);
      expect(await listTable(t, 'server', 'inet', 'otpknock')).toBeNull();
      expect(await tcpProbe(t, 'eve', t.server.ipv4, 22)).toMatchObject({ state: 'open' }); // no other firewall here
      expect(await held.echo('after stop')).toContain('after stop');
      held.close();
    } finally {
      remove.cleanup();
    }
  });
});

describeE2E('break-glass: a long static sequence for when the clock or the derivation is broken', () => {
  const BREAK_GLASS = [11111, 28222, 13333, 24444, 15555, 26666, 17777, 29888];
  const fx = useDaemon({
    services: [22, 443],
    config: configYaml(
      { ssh: 22, api: 443 },
      `break_glass:\n  sequence: [${BREAK_GLASS.join(', ')}]\n  services: [ssh]`,
    ),
  });

  it('opens its services for a client whose clock is an hour off, where the time-based sequence does not', async () => {
    const { t } = fx;
    // A client an hour ahead knocks the sequence of its (wrong) window: refused.
    const hourAhead = sequencesFor(alice.secret, profile, 120).open;
    expect(await knockThenProbe(t, 'client', t.server.ipv4, hourAhead, 22, 500)).toMatchObject({ state: 'closed' });
    // The break-glass sequence does not depend on any clock.
    expect(await knockThenProbe(t, 'client', t.server.ipv4, BREAK_GLASS)).toMatchObject({ state: 'open' });
    expect(await tcpProbe(t, 'client', t.server.ipv4, 443, 500)).toMatchObject({ state: 'closed' }); // only its services
  });

  it('is static and repeatable (that is its weakness): an eavesdropper who replays it gets in too, also after a restart', async () => {
    const { t } = fx;
    expect(await knockThenProbe(t, 'eve', t.server.ipv4, BREAK_GLASS)).toMatchObject({ state: 'open' });
    await fx.daemon.stop('SIGTERM');
    await fx.start();
    expect(await knockThenProbe(t, 'client', t.server.ipv6, BREAK_GLASS)).toMatchObject({ state: 'open' });
  });

  it('needs every port in order: a prefix or a wrong order opens nothing', async () => {
    const { t } = fx;
    // (in this order: the reversed sequence ends where the prefix begins, so the prefix never completes)
    const reversed = [...BREAK_GLASS].reverse();
    expect(await knockThenProbe(t, 'eve', t.server.ipv6, reversed, 22, 500)).toMatchObject({ state: 'closed' });
    expect(await knockThenProbe(t, 'eve', t.server.ipv6, BREAK_GLASS.slice(0, 7), 22, 500)).toMatchObject({
      state: 'closed',
    });
  });
});
