// Proves the end-to-end harness itself: if these fail, no other e2e result can be trusted.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import {
  applyNft,
  counterValue,
  createTopology,
  describeE2E,
  listNamespaces,
  listRootRuleset,
  listTable,
  nodeSourceArgv,
  openHeldConnection,
  pollUntil,
  run,
  runSync,
  sendUdp,
  setElementKeys,
  setElements,
  spawnTracked,
  startService,
  startUdpListener,
  sweepStaleNamespaces,
  tcpProbe,
  useTopology,
  withTopology,
  type Topology,
} from '@otpknock/e2e-harness';

const PORT = 2222;

/** Interface names of the root namespace: ours must never appear there. */
function rootInterfaces(): string[] {
  const r = runSync(['ip', '-j', 'link', 'show']);
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

describeE2E('e2e harness', () => {
  const topo = useTopology();

  it('creates server, client and eve with their addresses, nothing in the root namespace', async () => {
    const t = topo();
    expect(listNamespaces()).toEqual(expect.arrayContaining([...t.namespaces]));
    for (const h of Object.values(t.hosts)) {
      const r = await t.exec(h.role, ['ip', '-j', 'addr', 'show', 'dev', h.ifname], { check: true });
      const addrs = (JSON.parse(r.stdout) as { addr_info: { local: string; prefixlen: number }[] }[])[0]!.addr_info.map(
        (a) => `${a.local}/${a.prefixlen}`,
      );
      expect(addrs).toEqual(expect.arrayContaining([h.ipv4Cidr, h.ipv6Cidr]));
      const lo = await t.exec(h.role, ['ip', '-j', 'link', 'show', 'dev', 'lo'], { check: true });
      expect((JSON.parse(lo.stdout) as { flags: string[] }[])[0]!.flags).toContain('UP');
    }
    expect(t.server).toMatchObject({ ipv4: '192.0.2.1', ipv6: '2001:db8:1::1' });
    expect(t.client).toMatchObject({ ipv4: '192.0.2.2', ipv6: '2001:db8:1::2' });
    expect(t.eve).toMatchObject({ ipv4: '192.0.2.3', ipv6: '2001:db8:1::3' });
    for (const name of t.interfaces) expect(name.length).toBeLessThanOrEqual(15);
    expect(rootInterfaces().filter((n) => n.startsWith(`okt${t.id}`))).toEqual([]);
    expect(() => t.nsName('definitely-not-ours')).toThrow(/not part of topology/);
  });

  it('reaches the TCP service over IPv4 and IPv6, and reports a refused port as closed', async () => {
    const t = topo();
    const svc = await startService(t, 'server', PORT);
    const [v4, v6, fromEve, refused] = await Promise.all([
      tcpProbe(t, 'client', t.server.ipv4, PORT),
      tcpProbe(t, 'client', t.server.ipv6, PORT),
      tcpProbe(t, 'eve', t.server.ipv4, PORT),
      tcpProbe(t, 'client', t.server.ipv4, PORT + 1),
    ]);
    expect(v4).toMatchObject({
      state: 'open',
      reason: 'connected',
      greeting: `otpknock-test-service hello 192.0.2.2 port ${PORT}`,
    });
    expect(v6).toMatchObject({ state: 'open', greeting: `otpknock-test-service hello 2001:db8:1::2 port ${PORT}` });
    expect(fromEve).toMatchObject({ state: 'open', greeting: expect.stringContaining('192.0.2.3') });
    expect(refused).toMatchObject({ state: 'closed', reason: 'refused' });
    expect(svc.connections().map((c) => c.remote)).toEqual(
      expect.arrayContaining(['192.0.2.2', '2001:db8:1::2', '192.0.2.3']),
    );
    await svc.stop();
  });

  it('holds a connection that echoes, survives a dropping rule, while new connections time out; root ruleset untouched', async () => {
    const t = topo();
    const rootBefore = await listRootRuleset();
    const svc = await startService(t, 'server', PORT);
    const held = await openHeldConnection(t, 'client', t.server.ipv6, PORT);
    expect(held.greeting).toContain('hello 2001:db8:1::2');
    expect(await held.echo('first')).toBe('first');

    // The shape otpknockd uses: established traffic first, then the protected port dropped.
    await applyNft(
      t,
      'server',
      `table inet okt_test {
        chain input {
          type filter hook input priority 0; policy accept;
          ct state established,related accept
          tcp dport ${PORT} drop
        }
      }`,
    );
    expect(await listTable(t, 'server', 'inet', 'okt_test')).not.toBeNull();
    expect(await listTable(t, 'server', 'inet', 'absent_table')).toBeNull();
    expect(await listTable(t, 'client', 'inet', 'okt_test')).toBeNull(); // per-namespace

    const [v4, v6] = await Promise.all([
      tcpProbe(t, 'client', t.server.ipv4, PORT, 500),
      tcpProbe(t, 'client', t.server.ipv6, PORT, 500),
    ]);
    expect(v4).toMatchObject({ state: 'closed', reason: 'timeout' });
    expect(v6).toMatchObject({ state: 'closed', reason: 'timeout' });
    expect(await held.echo()).toMatch(/^ping /);
    expect(held.open).toBe(true);

    // Without the established rule the held connection really is cut: echo() notices.
    await applyNft(t, 'server', 'flush chain inet okt_test input\nadd rule inet okt_test input tcp dport 2222 drop');
    await expect(held.echo('lost', 500)).rejects.toThrow(/timed out/);

    await held.close();
    await svc.stop();
    await applyNft(t, 'server', 'delete table inet okt_test');
    expect(await listRootRuleset()).toBe(rootBefore);
  });

  it('delivers UDP datagrams in order, seen by a listener, an nft counter and a dynamic set, and overheard by eve', async () => {
    const t = topo();
    await applyNft(
      t,
      'server',
      `table inet okt_udp {
        counter seen { }
        set sources4 { type ipv4_addr; flags dynamic,timeout; size 16; timeout 60s; }
        set sources6 { type ipv6_addr; flags dynamic,timeout; size 16; timeout 60s; }
        map steps { type inet_service : mark; elements = { 40001 : 1, 40002 : 2 } }
        chain input {
          type filter hook input priority 0; policy accept;
          udp dport 40001-40002 counter name seen
          udp dport 40001-40002 update @sources4 { ip saddr }
          udp dport 40001-40002 update @sources6 { ip6 saddr }
        }
      }`,
    );
    // Eve on the shared segment sees frames addressed to the server (the hub floods):
    // counted at her interface's ingress, before IP drops them as not hers.
    await applyNft(
      t,
      'eve',
      `table netdev okt_sniff {
        counter overheard { }
        chain ingress {
          type filter hook ingress device "${t.eve.ifname}" priority 0;
          ip daddr ${t.server.ipv4} udp dport 40001-40002 counter name overheard
        }
      }`,
    );
    const listener = await startUdpListener(t, 'server', [40001, 40002]);
    const v4 = await sendUdp(t, 'client', t.server.ipv4, [40002, 40001], { payload: ['two', 'one'], delayMs: 5 });
    await sendUdp(t, 'client', t.server.ipv6, [40001], { payload: new Uint8Array([0, 1, 2]) });
    const got = await listener.waitFor(3);
    expect(got.map((d) => [d.port, d.from, d.payload.toString('hex')])).toEqual([
      [40002, '192.0.2.2', Buffer.from('two').toString('hex')],
      [40001, '192.0.2.2', Buffer.from('one').toString('hex')],
      [40001, '2001:db8:1::2', '000102'],
    ]);
    expect(got[0]!.fromPort).toBe(v4.sourcePort);
    expect(await counterValue(t, 'server', 'okt_udp', 'seen')).toMatchObject({ packets: 3 });
    expect(
      await pollUntil(
        async () => (await counterValue(t, 'eve', 'okt_sniff', 'overheard', { family: 'netdev' }))?.packets === 2,
      ),
    ).toBe(true);
    expect(await setElementKeys(t, 'server', 'okt_udp', 'sources4')).toEqual(['192.0.2.2']);
    const [six] = await setElements(t, 'server', 'okt_udp', 'sources6');
    expect(six).toMatchObject({ key: '2001:db8:1::2' });
    expect(six!.expires).toBeGreaterThan(50);
    expect((await setElements(t, 'server', 'okt_udp', 'steps')).map((e) => `${e.key}:${e.value}`).sort()).toEqual([
      '40001:1',
      '40002:2',
    ]);
    await expect(setElements(t, 'server', 'okt_udp', 'nope')).rejects.toThrow(/no set or map/);
    await listener.stop();
  });
});

/** True when pid has exited (a zombie waiting for its reaper counts as exited). */
function exited(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

describeE2E('e2e harness: a backend behind the server (gateway mode)', () => {
  it('routes the backend subnet through the server, forwarding only there; removes it all', async () => {
    let t: Topology | undefined;
    await withTopology(
      async (topo) => {
        t = topo;
        expect(topo.backend).toMatchObject({
          ipv4: '198.51.100.2',
          ipv6: '2001:db8:2::2',
          ns: `${topo.hub.slice(0, -4)}-backend`,
        });
        expect(topo.gateway).toMatchObject({ ipv4: '198.51.100.1', ipv6: '2001:db8:2::1' });
        await startService(topo, 'backend', PORT);
        expect(await tcpProbe(topo, 'client', topo.backend.ipv4, PORT)).toMatchObject({ state: 'open' });
        expect(await tcpProbe(topo, 'client', topo.backend.ipv6, PORT)).toMatchObject({ state: 'open' });
        const forwarding = await topo.exec('server', ['sysctl', '-n', 'net.ipv4.ip_forward'], { check: true });
        expect(forwarding.stdout.trim()).toBe('1');
        for (const name of topo.interfaces) expect(name.length).toBeLessThanOrEqual(15);
        expect(rootInterfaces().filter((n) => n.startsWith(`okt${topo.id}`))).toEqual([]);
      },
      { backend: true },
    );
    for (const ns of t!.namespaces) expect(listNamespaces()).not.toContain(ns);
    // Without the option there is no backend, and asking for it says so.
    await withTopology(async (topo) => {
      expect(() => topo.backend).toThrow(/no backend/);
      expect(() => topo.nsName('backend')).toThrow(/not part of topology/);
    });
  });
});

describeE2E('e2e harness cleanup', () => {
  it('destroy() kills its processes and removes every namespace and veth; idempotent', async () => {
    let t: Topology | undefined;
    let pid = 0;
    let untracked = 0;
    await withTopology(async (topo) => {
      t = topo;
      pid = topo.spawn('eve', [process.execPath, '-e', 'setTimeout(() => {}, 30000)']).pid;
      // A process the harness did not track (started in the background) is still found and killed.
      const bg = await topo.exec('client', ['sh', '-c', 'sleep 30 >/dev/null 2>&1 & echo $!'], { check: true });
      untracked = Number(bg.stdout.trim());
      expect(exited(untracked)).toBe(false);
      expect(listNamespaces()).toEqual(expect.arrayContaining([...topo.namespaces]));
    });
    expect(t!.destroyed).toBe(true);
    const left = listNamespaces();
    for (const ns of t!.namespaces) expect(left).not.toContain(ns);
    expect(rootInterfaces().filter((n) => n.startsWith(`okt${t!.id}`))).toEqual([]);
    expect(exited(pid)).toBe(true);
    expect(exited(untracked)).toBe(true);
    await t!.destroy(); // idempotent
    expect(() => t!.exec('server', ['true'])).toThrow(/destroyed/);
  });

  it('a run killed by SIGTERM cleans up; one killed by SIGKILL is swept by the next run', async () => {
    const child = fileURLToPath(new URL('./harness/fixtures/topology-child.ts', import.meta.url));
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      const p = spawnTracked(nodeSourceArgv(child));
      const line = await p.waitForLine((l) => l.startsWith('{'), { timeoutMs: 15_000, stream: 'stdout' });
      const { namespaces } = JSON.parse(line) as { namespaces: string[] };
      expect(listNamespaces()).toEqual(expect.arrayContaining(namespaces));
      p.signal(sig);
      await p.exited;
      if (sig === 'SIGKILL') {
        // Nothing could run in the child: its namespaces (and service) are still there…
        expect(listNamespaces()).toEqual(expect.arrayContaining(namespaces));
        // …until the next run's sweep, which removes them because the owner pid is dead.
        expect(sweepStaleNamespaces()).toEqual(expect.arrayContaining(namespaces));
      }
      const left = listNamespaces();
      for (const ns of namespaces) expect(left, `${sig}: ${ns} left behind`).not.toContain(ns);
    }
  });

  it('the sweep leaves namespaces of live runs alone', async () => {
    const live = await createTopology();
    try {
      sweepStaleNamespaces();
      expect(listNamespaces()).toEqual(expect.arrayContaining([...live.namespaces]));
    } finally {
      await live.destroy();
    }
    expect((await run(['ip', 'netns', 'list'])).stdout).not.toContain(live.id);
  });
});
