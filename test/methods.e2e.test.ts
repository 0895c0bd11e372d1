// Every knock method of the seed, end to end: the real daemon (the built bundle),
// real nftables, real sockets, in throw-away namespaces (server 192.0.2.1,
// client .2, eve .3). Each user protects a service of its own, so the tests do
// not see each other's openings.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  describeE2E,
  openHeldConnection,
  sendUdp,
  sequencesFor,
  setElementKeys,
  tcpProbe,
  testSecret,
  useDaemon,
  usersYaml,
  type TestUser,
} from './support/e2e.js';

interface MethodCase {
  title: string;
  user: TestUser;
  service: string;
  port: number;
}

const svc = (name: string, port: number) => ({ name, port });
const S = {
  toggle1: svc('toggle1', 2201),
  sep1: svc('sep1', 2202),
  toggleN: svc('togglen', 2203),
  sepN: svc('sepn', 2204),
  listmod: svc('listmod', 2205),
  time: svc('time', 2206),
  prng: svc('prng', 2207),
};

const LIST = [51000, 51001, 51002, 51003, 51004, 51005, 51006, 51007, 51008, 51009];
const profiles = {
  toggle1: { method: 'static', open: [7001], toggle: true },
  sep1: { method: 'static', open: [7002], close: [7003] },
  toggleN: { method: 'static', open: [7101, 7102, 7103], toggle: true },
  sepN: { method: 'static', open: [7201, 7202, 7203], close: [7301, 7302, 7303] },
  listmod: { method: 'list-modulo', length: 3, ports: LIST },
  time: { method: 'time', length: 3, range: '20000-30000' },
  prng: { method: 'prng', length: 4, range: '30001-40000' },
} as const;

const user = (name: keyof typeof profiles): TestUser => ({
  name: name.toLowerCase(),
  secret: testSecret(`methods-${name}`),
  services: [S[name].name],
  knock: { ...profiles[name] },
});

const users = Object.fromEntries(Object.keys(profiles).map((k) => [k, user(k as keyof typeof profiles)])) as Record<
  keyof typeof profiles,
  TestUser
>;

const configYaml = (secretFile: (u: TestUser) => string) => `
table: otpknock
skew: 1
step_timeout: 2s
services:
${Object.values(S)
  .map((s) => `  ${s.name}: { port: ${s.port}, open_for: 1m }`)
  .join('\n')}
users:
${usersYaml(Object.values(users), secretFile)}
`;

/** What the profile of a user sends for the window at `offset` from now (normalised like the server). */
const seqOf = (name: keyof typeof profiles, offset = 0) => {
  const u = users[name];
  // The server adds every service port to `exclude`; the client must do the same.
  const p = { ...profiles[name], exclude: Object.values(S).map((s) => s.port) } as Parameters<typeof sequencesFor>[1];
  return sequencesFor(u.secret, p, offset);
};

const PERIOD = 30;
/** Waits, when needed, until at least `seconds` remain in the current window, so "window −1, 0, +1" stay valid while a test runs. */
async function awayFromBoundary(seconds = 8): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - seconds) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
}

describeE2E('otpknockd: every knock method of the seed, end to end', () => {
  const fx = useDaemon({ services: Object.values(S).map((s) => s.port), config: configYaml });

  const knock = (ports: readonly number[], from: 'client' | 'eve' = 'client', v6 = false) =>
    sendUdp(fx.t, from, v6 ? fx.t.server.ipv6 : fx.t.server.ipv4, ports, { delayMs: 5 });
  const isOpen = async (port: number, from: 'client' | 'eve' = 'client', v6 = false) =>
    (await tcpProbe(fx.t, from, v6 ? fx.t.server.ipv6 : fx.t.server.ipv4, port, 600)).state === 'open';

  it('starts with every method closed', async () => {
    for (const s of Object.values(S)) expect(await isOpen(s.port), s.name).toBe(false);
  });

  describe('static methods (the same sequence in every window)', () => {
    it('1. single port toggle: the port opens, the same port again closes (toggle twice closes)', async () => {
      await knock([7001]);
      expect(await isOpen(S.toggle1.port)).toBe(true);
      expect(await setElementKeys(fx.t, 'server', 'otpknock', 'allowed4_toggle1')).toEqual([fx.t.client.ipv4]);
      const held = await openHeldConnection(fx.t, 'client', fx.t.server.ipv4, S.toggle1.port);
      await knock([7001]);
      expect(await isOpen(S.toggle1.port)).toBe(false);
      expect(await setElementKeys(fx.t, 'server', 'otpknock', 'allowed4_toggle1')).toEqual([]);
      expect(await held.echo('toggled closed')).toContain('toggled closed'); // established stays up
      held.close();
      await knock([7001]); // and a third time opens again
      expect(await isOpen(S.toggle1.port)).toBe(true);
      await knock([7001]);
      expect(await isOpen(S.toggle1.port)).toBe(false);
    });

    it('1. single port toggle works per source address and over IPv6', async () => {
      await knock([7001], 'client', true);
      expect(await isOpen(S.toggle1.port, 'client', true)).toBe(true);
      expect(await isOpen(S.toggle1.port, 'eve', true)).toBe(false);
      await knock([7001], 'eve', true); // eve's toggle opens for eve, and does not close the client
      expect(await isOpen(S.toggle1.port, 'eve', true)).toBe(true);
      expect(await isOpen(S.toggle1.port, 'client', true)).toBe(true);
      await knock([7001], 'client', true);
      await knock([7001], 'eve', true);
      expect(await isOpen(S.toggle1.port, 'client', true)).toBe(false);
      expect(await isOpen(S.toggle1.port, 'eve', true)).toBe(false);
    });

    it('2. single port, separate ports: the open port opens (twice stays open), the close port closes', async () => {
      await knock([7003]); // close when closed: nothing happens
      expect(await isOpen(S.sep1.port)).toBe(false);
      await knock([7002]);
      expect(await isOpen(S.sep1.port)).toBe(true);
      await knock([7002]); // open again: not a toggle, stays open
      expect(await isOpen(S.sep1.port)).toBe(true);
      await knock([7003]);
      expect(await isOpen(S.sep1.port)).toBe(false);
    });

    it('3. port sequence toggle: the sequence opens, the same sequence again closes; wrong order does nothing', async () => {
      await knock([7103, 7102, 7101]);
      await knock([7101, 7103, 7102]);
      expect(await isOpen(S.toggleN.port)).toBe(false);
      await knock([7101, 7102, 7103]);
      expect(await isOpen(S.toggleN.port)).toBe(true);
      await knock([7101, 7102, 7103]);
      expect(await isOpen(S.toggleN.port)).toBe(false);
    });

    it('3. a port of the knock range in the middle resets a sequence', async () => {
      await knock([7101, 7202, 7102, 7103]); // 7202 is another user's port: resets
      expect(await isOpen(S.toggleN.port)).toBe(false);
      await knock([7101, 7101, 7102, 7103]); // a restart on the first port begins a new attempt
      expect(await isOpen(S.toggleN.port)).toBe(true);
      await knock([7101, 7102, 7103]);
      expect(await isOpen(S.toggleN.port)).toBe(false);
    });

    it('4. port sequence, separate sequences: open opens, close closes, a live connection stays', async () => {
      await knock([7201, 7202]); // incomplete
      expect(await isOpen(S.sepN.port)).toBe(false);
      await knock([7201, 7202, 7203]);
      expect(await isOpen(S.sepN.port)).toBe(true);
      const held = await openHeldConnection(fx.t, 'client', fx.t.server.ipv4, S.sepN.port);
      await knock([7301, 7302, 7303]);
      expect(await isOpen(S.sepN.port)).toBe(false);
      expect(await held.echo('still here')).toContain('still here');
      held.close();
      // a static sequence is not one-time: it opens again
      await knock([7201, 7202, 7203]);
      expect(await isOpen(S.sepN.port)).toBe(true);
      await knock([7301, 7302, 7303]);
      expect(await isOpen(S.sepN.port)).toBe(false);
    });
  });

  const oneTime: MethodCase[] = [
    { title: '5. one-time port, list-modulo', user: users.listmod, service: S.listmod.name, port: S.listmod.port },
    { title: '6. one-time port, time-based', user: users.time, service: S.time.name, port: S.time.port },
    { title: '7. one-time port, pseudo-random (prng)', user: users.prng, service: S.prng.name, port: S.prng.port },
  ];
  const keyOf = (c: MethodCase) => c.user.name as keyof typeof profiles;

  describe.each(oneTime)('$title', (c) => {
    let used: number[] = [];
    // Absolute windows whose open / close sequence was used: each is a leaf of its own, consumed once.
    const usedOpen = new Set<number>();
    const usedClose = new Set<number>();
    /** A sequence of a window within the skew whose open (or close) sequence was not used yet. */
    const fresh = (kind: 'open' | 'close') => {
      for (const o of [1, 0, -1]) {
        const seq = seqOf(keyOf(c), o);
        if (!(kind === 'open' ? usedOpen : usedClose).has(seq.window)) {
          (kind === 'open' ? usedOpen : usedClose).add(seq.window);
          return seq[kind];
        }
      }
      throw new Error(`no unused ${kind} sequence within the skew`);
    };
    beforeEach(() => awayFromBoundary());

    it('opens with the open sequence of the current window, only for the knocking address', async () => {
      const seq = seqOf(keyOf(c), 0);
      used = seq.open;
      usedOpen.add(seq.window);
      if (keyOf(c) === 'listmod') for (const p of [...seq.open, ...seq.close]) expect(LIST).toContain(p);
      await knock(seq.open);
      expect(await isOpen(c.port)).toBe(true);
      expect(await isOpen(c.port, 'eve')).toBe(false);
      expect(await setElementKeys(fx.t, 'server', 'otpknock', `allowed4_${c.service}`)).toEqual([fx.t.client.ipv4]);
    });

    it('closes with the close sequence of a window within the skew; a live connection stays up', async () => {
      const held = await openHeldConnection(fx.t, 'client', fx.t.server.ipv4, c.port);
      const prev = seqOf(keyOf(c), -1);
      usedClose.add(prev.window);
      await knock(prev.close);
      expect(await isOpen(c.port)).toBe(false);
      expect(await setElementKeys(fx.t, 'server', 'otpknock', `allowed4_${c.service}`)).toEqual([]);
      expect(await held.echo('after close')).toContain('after close');
      held.close();
    });

    it('refuses a second use of the same open sequence (one-time), from any address', async () => {
      expect(used.length).toBeGreaterThan(0); // the open sequence of the first test of this block
      await knock(used, 'eve');
      expect(await isOpen(c.port, 'eve')).toBe(false);
      await knock(used, 'client');
      expect(await isOpen(c.port, 'client')).toBe(false);
    });

    it('opens over IPv6 with another window, and its close sequence is one-time too', async () => {
      const open1 = fresh('open');
      const close1 = fresh('close');
      await knock(open1, 'client', true);
      expect(await isOpen(c.port, 'client', true)).toBe(true);
      await knock(close1, 'client', true);
      expect(await isOpen(c.port, 'client', true)).toBe(false);
      // reopen with another window's sequence; the used close sequence no longer closes
      await knock(fresh('open'), 'client', true);
      expect(await isOpen(c.port, 'client', true)).toBe(true);
      await knock(close1, 'client', true);
      expect(await isOpen(c.port, 'client', true)).toBe(true);
      await knock(fresh('close'), 'client', true);
      expect(await isOpen(c.port, 'client', true)).toBe(false);
    });

    it('ignores sequences of windows beyond the skew', async () => {
      await knock(seqOf(keyOf(c), 3).open, 'eve');
      await knock(seqOf(keyOf(c), -3).open, 'eve');
      expect(await isOpen(c.port, 'eve')).toBe(false);
    });
  });
});
