// What the attack files of the adversarial suite share: 50 users with the time
// method (30 s windows, ports 20000–40000), skew 1, the brute-force cut-off off
// (so the knock state machine alone has to stop the attacks), 10-minute openings
// (an attack that opened anything stays visible until the probe).
import { sequencesFor, testSecret, usersYaml, type TestUser } from './otpknockd.js';

export const PERIOD = 30;
export const RANGE = { min: 20000, max: 40000 } as const;
export const TABLE = 'otpknock';
export const attackProfile = { method: 'time', period: PERIOD, range: `${RANGE.min}-${RANGE.max}` };
export const USERS: TestUser[] = Array.from({ length: 50 }, (_, i) => ({
  name: `u${String(i).padStart(2, '0')}`,
  secret: testSecret(`adversary-${i}`),
}));

export const attackConfig = (secretFile: (u: TestUser) => string) => `
table: ${TABLE}
skew: 1
ban: off
step_timeout: 5s
knock: { method: time, period: ${PERIOD}, range: ${RANGE.min}-${RANGE.max} }
services:
  ssh: { port: 22, open_for: 10m }
users:
${usersYaml(USERS, secretFile)}
`;

/** The open sequence of user u for the window at `offset` from now. */
export const openSeq = (u: TestUser, offset = 0) => sequencesFor(u.secret, attackProfile, offset).open;

/** Waits until the current window has at least `need` seconds left. */
export async function awayFromBoundary(need = 5): Promise<void> {
  const into = (Date.now() / 1000) % PERIOD;
  if (into > PERIOD - need) await new Promise((r) => setTimeout(r, (PERIOD - into + 0.2) * 1000));
}
