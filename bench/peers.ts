// otpknock side by side with knockd (classic sequences, libpcap + a command per open) and
// fwknop (Single Packet Authorization, libpcap), in ONE run on one machine (issue 7):
//   1. end-to-end: starting the client → the first accepted TCP connect to the service
//      (otpknock's client as a user gets it: the npm package installed with npm install -g),
//      and where that time goes: start → first datagram → last datagram → exit;
//   2. wire: the last knock / SPA datagram → the server's SYN-ACK (AF_PACKET capture with
//      kernel timestamps in the server's namespace);
//   3. daemon CPU per 100,000 junk UDP datagrams aimed at the knock ports / SPA port;
//   4. legitimate knocks that open during a bounded junk flood (2,000 and 10,000 packets/s);
//   5. idle RSS of each daemon, peak RSS of each client;
//   6. otpknock only: rotation time and the kernel's per-packet cost by number of users,
//      from bench/server.ts (run as it is, see runServerBench).
// Everything runs in namespaces this bench creates (client, one server per program) on
// RFC 5737 addresses, and is removed at the end, on failure and on Ctrl-C. As root:
//   pnpm bench:peers [--runs N] [--reuse-server-results] [--no-build] [--keep-temp]
// It installs knockd, fwknop-server and fwknop-client with apt-get when missing (their
// services are not started, see installPeers), builds otpknock, prints one table and writes
// bench/results/peers.{md,json}.
// The phases live in bench/peers/, one module each: params (command line, sizes, paths),
// install (apt-get), client-install (knock from its npm package), net (namespaces' links, the
// service), otpknock / knockd / fwknop (each
// program's daemon, firewall and client), knock (one timed knock), wire (captures), latency,
// cpu, floods (the measurements), server-figures (bench/server.ts), report (table and files).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineInfo } from './lib/machine.js';
import { createBenchNet } from './lib/netns.js';
import { int } from './lib/stats.js';
import { cpuPhase } from './peers/cpu.js';
import { floodPhase } from './peers/floods.js';
import { installClient } from './peers/client-install.js';
import { setupFwknop } from './peers/fwknop.js';
import { installPeers } from './peers/install.js';
import { knockOnce } from './peers/knock.js';
import { setupKnockd } from './peers/knockd.js';
import { latencyPhase } from './peers/latency.js';
import { makeLink, startService } from './peers/net.js';
import { setupOtpknock } from './peers/otpknock.js';
import {
  CPU_JUNK,
  CPU_ROUNDS,
  FLAGS,
  FLOOD_KNOCKS,
  FLOOD_RATES,
  KNOCK,
  NODE,
  OTPKNOCKD,
  REPO,
  RSS_RUNS,
  RUNS,
  SERVICE_PORT,
  WARMUP_RUNS,
  log,
  sleep,
} from './peers/params.js';
import type { Ctx, PeerKey } from './peers/peer.js';
import { processRssKiB } from './peers/proc-stat.js';
import { writeReport, type Results } from './peers/report.js';
import { runServerBench } from './peers/server-figures.js';
import { addWire, startCaptures, stopCaptures } from './peers/wire.js';

async function main(): Promise<void> {
  const started = performance.now();
  if (process.getuid?.() !== 0)
    throw new Error('bench/peers.ts needs root (apt-get, network namespaces, nft, iptables)');
  const installed = installPeers();
  if (!FLAGS.noBuild) {
    log('building otpknock (scripts/build.mjs, as pnpm build)');
    const b = spawnSync(NODE, ['scripts/build.mjs'], { cwd: REPO, stdio: ['ignore', 2, 2], timeout: 180_000 });
    if (b.status !== 0) throw new Error('the build failed');
  }
  for (const f of [OTPKNOCKD, KNOCK]) if (!existsSync(f)) throw new Error(`${f} is missing: run pnpm build`);
  const machine = machineInfo();
  const loadBefore = loadavg();
  const users = WARMUP_RUNS + RUNS + RSS_RUNS + FLOOD_RATES.length * FLOOD_KNOCKS + 4;

  const net = createBenchNet();
  const dir = mkdtempSync(join(tmpdir(), 'okb-peers-'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  // Clients keep state in $HOME / XDG dirs (knock: used windows; fwknop: ~/.fwknop.run): all in the temp dir.
  const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_STATE_HOME: join(home, '.local/state') };
  const ctx: Ctx = { net, dir, env };
  const cleanup = () => {
    net.destroy();
    if (FLAGS.keepTemp) log(`kept ${dir} (configs, daemon and client logs)`);
    else rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  // Ctrl-C, SIGTERM, SIGHUP: the harness's handlers (installed with the first namespace)
  // kill our processes and delete the namespaces; this one also removes the temp dir (keys,
  // secrets) and ends the run.
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    log(`${sig}: cleaned up, stopping`);
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, onSignal);
  let results: Omit<Results, 'server' | 'wallS' | 'loadAfter'>;
  try {
    log('installing knock from its npm package (pnpm pack, npm install -g --prefix)');
    const client = await installClient(dir);
    log(`installed ${client.bin}; its code cache: ${client.codeCache}`);
    await net.addNamespace('cli');
    const links = {
      otpknock: await makeLink(net, 'otp', '192.0.2'),
      knockd: await makeLink(net, 'knd', '198.51.100'),
      fwknop: await makeLink(net, 'fwk', '203.0.113'),
    };
    for (const l of Object.values(links)) await startService(ctx, l.role);
    log('starting otpknockd, knockd and fwknopd');
    const peers = [
      await setupOtpknock(ctx, links.otpknock, users, client),
      await setupKnockd(ctx, links.knockd),
      await setupFwknop(ctx, links.fwknop),
    ];
    // Closed before any knock: the protection is really there.
    for (const p of peers) {
      const probe = await knockOnce(ctx, { ...p, clientArgv: () => [] }, 0, { timeoutS: 0.5 });
      if (probe.connectMs !== null) throw new Error(`${p.label}: tcp/${SERVICE_PORT} is open without a knock`);
    }
    // Node's own start-up, the floor under otpknock's end-to-end time: `node -e 0`, start → exit.
    const nodeStartMs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await knockOnce(ctx, { ...peers[0]!, clientArgv: () => [NODE, '-e', '0'] }, 0, { connect: false });
      if (i > 0) nodeStartMs.push(r.clientMs);
    }
    const next = new Map<PeerKey, number>(peers.map((p) => [p.key, 0]));
    const captures = await startCaptures(ctx, peers);
    log(`latency: ${RUNS} + ${RSS_RUNS} knocks per program`);
    const latency = await latencyPhase(ctx, peers, next);
    await sleep(1_000);
    const idleRssKiB = new Map<PeerKey, number[]>(peers.map((p) => [p.key, []]));
    for (let i = 0; i < 3; i++) {
      for (const p of peers) idleRssKiB.get(p.key)!.push(processRssKiB(p.daemon.pid));
      await sleep(500);
    }
    log(`daemon CPU: ${CPU_ROUNDS} × ${int(CPU_JUNK)} junk datagrams per daemon`);
    const cpu = await cpuPhase(ctx, peers);
    log(`floods: ${FLOOD_RATES.map(int).join(' and ')} packets/s, ${FLOOD_KNOCKS} knocks each`);
    const floods = await floodPhase(ctx, peers, next);
    const packets = await stopCaptures(captures);
    for (const p of peers) {
      addWire(packets.get(p.key)!, latency.get(p.key)!.runs);
      for (const f of floods.get(p.key)!) addWire(packets.get(p.key)!, f.knocks);
    }
    for (const p of peers)
      if (!p.daemon.running)
        throw new Error(`${p.label}'s daemon died during the run:\n${p.daemon.stderr().slice(-2000)}`);
    results = { machine, loadBefore, peers, latency, idleRssKiB, cpu, floods, installed, nodeStartMs };
  } finally {
    cleanup();
    process.removeListener('exit', cleanup);
    for (const sig of signals) process.removeListener(sig, onSignal);
  }
  const server = runServerBench(FLAGS.reuseServerResults);
  const full: Results = { ...results, server, loadAfter: loadavg(), wallS: (performance.now() - started) / 1000 };
  writeReport(full);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
