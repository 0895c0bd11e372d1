// Gateway mode e2e support: the knocks of one user with short windows, each
// sequence knocked once (they are one-time), and the counters of our table.
import { counterValue, sendUdp, type Topology } from '@otpknock/e2e-harness';
import { sequencesFor, testUser } from './otpknockd.js';

export const PERIOD = 5; // short windows: a rotation within a test
export const profile = { method: 'time', period: PERIOD, range: '20000-40000' };
export const alice = testUser('alice', 'gateway-alice');

async function awayFromBoundary(): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - 1.5) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.1) * 1000));
}

/** Alice's knocks: each call takes the sequence of a live window (current ± skew 1) not knocked yet. */
export function aliceKnocks() {
  const usedWindows = new Set<number>();
  const fresh = async (): Promise<number[]> => {
    await awayFromBoundary();
    const now = Math.floor(Date.now() / 1000 / PERIOD);
    const offset = [0, 1, -1].find((o) => !usedWindows.has(now + o));
    if (offset === undefined) throw new Error('no unused live window; wait for the next one');
    usedWindows.add(now + offset);
    return sequencesFor(alice.secret, profile, offset).open;
  };
  return {
    fresh,
    /** Knocks a fresh open sequence from `from` to the gateway (IPv4 or IPv6); returns its ports. */
    async knock(t: Topology, from: 'client' | 'eve', family: 4 | 6 = 4): Promise<number[]> {
      const ports = await fresh();
      await sendUdp(t, from, family === 4 ? t.server.ipv4 : t.server.ipv6, ports, { delayMs: 5 });
      return ports;
    },
  };
}

/** A named counter of our table (0 when absent). */
export async function counter(t: Topology, name: string, table = 'otpknock'): Promise<number> {
  return (await counterValue(t, 'server', table, name))?.packets ?? 0;
}
