// Rotations against the real kernel: element timeouts, shared prefixes whose
// timeouts are lengthened, keys replaced while their old element may still be
// there, and the knock range's `notrack` sparing this host's own UDP replies.
import { expect, it } from 'vitest';
import {
  APPLY_LEAD_MS,
  awayFromBoundary,
  describeE2E,
  knockThenProbe,
  setElements,
  sequencesFor,
  tcpProbe,
  testUser,
  useDaemon,
  usersYaml,
  type TestUser,
  type Topology,
} from './support/e2e.js';

const PERIOD = 2;
// 8 users × 3 windows × (open + close) = 48 live sequences on 200 ports: about one
// new sequence in five starts on a port that a live one starts on too.
const RANGE = '20000-20199';
const profile = { method: 'time', period: PERIOD, range: RANGE };
const users = Array.from({ length: 8 }, (_, i) => testUser(`u${i}`, `rotation-user-${i}`, { services: ['ssh'] }));

const configYaml = (secretFile: (u: TestUser) => string) => `
table: otpknock
skew: 1
ban: off
step_timeout: 2s
knock: ${JSON.stringify(profile)}
services:
  ssh:
    port: 22
    open_for: 30s
users:
${usersYaml(users, secretFile)}
`;

interface RotationLine {
  event: string;
  added?: number;
  removed?: number;
  replaced?: number;
  took_ms?: number;
  late_ms?: number;
}

/**
 * The step map's elements: those with a second or more to live, and those ending within the
 * second (nft -j prints whole seconds). Right after a boundary the latter are the window that
 * just ended: the kernel counts an element's timeout from its insertion's commit, which on a
 * loaded machine comes a few hundred ms after the instant the daemon counts from (took_ms).
 */
async function stepElementCount(t: Topology): Promise<{ live: number; ending: number }> {
  const elems = await setElements(t, 'server', 'otpknock', 'step');
  const ending = elems.filter((e) => e.expires === 0).length;
  return { live: elems.length - ending, ending };
}

describeE2E('otpknockd rotations: the kernel expires ended windows, shared prefixes live on', () => {
  const fx = useDaemon({ services: [22], config: configYaml });

  it('rotates 8 times without a failed transaction; the step map stays the size of the live windows', async () => {
    let cursor = fx.daemon.mark();
    const sizes: number[] = [];
    const rotations: RotationLine[] = [];
    let missed = 0;
    const ending: number[] = [];
    // 8 counts, each from after a rotation; a count that may have missed its interval is not
    // one (bounded: 16 rotations).
    while (sizes.length < 8 && rotations.length < 16) {
      const line = await fx.daemon.waitForLine(/"event":"rotation"/, { after: cursor, timeoutMs: (PERIOD + 3) * 1000 });
      cursor = fx.daemon.mark();
      rotations.push(JSON.parse(line) as RotationLine);
      // A rotation loads a second before its boundary (APPLY_LEAD_MS); the ended window's
      // elements expire at the boundary plus the time the commit of their insertion took
      // (a few hundred ms on a loaded machine): count 300 ms after the boundary, apart from
      // the elements ending within the second, and only if the listing came back before the
      // next early load (on a busy machine nft's start alone can take longer).
      const boundary = Math.ceil(Date.now() / (PERIOD * 1000)) * PERIOD * 1000;
      await new Promise((r) => setTimeout(r, boundary + 300 - Date.now()));
      const count = await stepElementCount(fx.t);
      if (Date.now() < boundary + PERIOD * 1000 - APPLY_LEAD_MS) {
        sizes.push(count.live);
        ending.push(count.ending);
      } else missed += 1;
    }
    console.log(
      `rotations: ${rotations.length} (late_ms max ${Math.max(...rotations.map((r) => r.late_ms ?? 0))}, took_ms max ` +
        `${Math.max(...rotations.map((r) => r.took_ms ?? 0))}); step map counted ${sizes.length} times (${sizes.join(' ')}; ending within the second: ${ending.join(' ')}), ${missed} counts too late`,
    );
    expect(sizes.length, 'counts taken between a boundary and the next early load').toBe(8);
    expect(fx.daemon.stderr()).not.toMatch(/rotation failed|"level":"error"/);
    // Ended windows are dropped by the kernel's timeouts, not by deletes…
    expect(rotations.reduce((n, r) => n + (r.removed ?? 0), 0)).toBe(0);
    // …and shared first ports had their timeouts lengthened (replaced) along the way.
    expect(rotations.reduce((n, r) => n + (r.replaced ?? 0), 0)).toBeGreaterThan(0);
    // 48 sequences of 3 ports share some prefixes: at most 144 elements, plus the first
    // steps of the 16 sequences of the window that just ended (they live a window longer).
    expect(Math.max(...sizes)).toBeLessThanOrEqual(48 * 3 + 16);
    expect(Math.min(...sizes)).toBeGreaterThan(48 * 2);
  });

  it('after many rotations, the current window of every user still opens (4 sources)', async () => {
    const sources = [
      { ns: 'client' as const, to: fx.t.server.ipv4 },
      { ns: 'client' as const, to: fx.t.server.ipv6 },
      { ns: 'eve' as const, to: fx.t.server.ipv4 },
      { ns: 'eve' as const, to: fx.t.server.ipv6 },
    ];
    for (const [i, s] of sources.entries()) {
      expect(await tcpProbe(fx.t, s.ns, s.to, 22, 500)).toMatchObject({ state: 'closed' });
      // Each knock gets room of its own: four in a row outlast a 2 s window on a loaded machine.
      await awayFromBoundary(PERIOD, 0.8, 0.1);
      expect(await knockThenProbe(fx.t, s.ns, s.to, sequencesFor(users[i]!.secret, profile, 0).open)).toMatchObject({
        state: 'open',
      });
    }
  });

  it("lets replies to this host's own UDP through on a knock port (e.g. DNS from an ephemeral port)", async () => {
    // A UDP echo on the client; the server asks it from local port 20100, inside the knock range.
    const echo = fx.t.spawn('client', [
      'python3',
      '-c',
      `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 5300))
print('ready', flush=True)
s.settimeout(20)
for _ in range(3):
    data, peer = s.recvfrom(512)
    s.sendto(b'answer:' + data, peer)
`,
    ]);
    try {
      await echo.waitForLine(/ready/, { timeoutMs: 5_000 });
      const ask = await fx.t.exec(
        'server',
        [
          'python3',
          '-c',
          `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 20100))
s.settimeout(2)
s.sendto(b'query', ('${fx.t.client.ipv4}', 5300))
print(s.recvfrom(512)[0].decode())
`,
        ],
        { timeoutMs: 10_000 },
      );
      expect(ask.stderr).toBe('');
      expect(ask.stdout.trim()).toBe('answer:query');
    } finally {
      await echo.stop('SIGTERM');
    }
  });
});
