// bench/peers.ts's parameters: its command line, the sizes of each phase, the paths it uses.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { wholeNumberOption } from '../lib/options.js';

// Strict: an unknown argument is refused (a typo would otherwise run the default bench for minutes).
const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runs: { type: 'string', default: '20' },
    'no-build': { type: 'boolean', default: false },
    'keep-temp': { type: 'boolean', default: false },
    'reuse-server-results': { type: 'boolean', default: false },
  },
});
export const FLAGS = {
  noBuild: options['no-build'],
  keepTemp: options['keep-temp'],
  reuseServerResults: options['reuse-server-results'],
};
/** Timed knocks per program (end-to-end and wire). */
export const RUNS = wholeNumberOption('runs', options.runs, 3, 100);
/** Extra knocks per program run under /usr/bin/time for the client's peak RSS (not timed). */
export const RSS_RUNS = 5;
export const WARMUP_RUNS = 1;
export const CPU_JUNK = 100_000;
export const CPU_RATE = 25_000;
export const CPU_ROUNDS = 3;
export const FLOOD_RATES = [2_000, 10_000];
/** A flood lasts until its knocks are done, at most this long. */
export const FLOOD_MAX_SECONDS = 25;
export const FLOOD_KNOCKS = 5;
/** Peers' clients only send: after they exit, a new connect() every CONNECT_INTERVAL_MS. */
export const CONNECT_INTERVAL_MS = 2;
export const CONNECT_TIMEOUT_S = 3;
export const SERVICE_PORT = 22;
export const WIRE_TARGET_MS = 1;

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const LIB = fileURLToPath(new URL('../lib/', import.meta.url));
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
export const PYTHON = '/usr/bin/python3';
export const GNU_TIME = '/usr/bin/time';
export const NODE = process.execPath;
export const OTPKNOCKD = join(REPO, 'packages/server/dist/otpknockd.js');
export const KNOCK = join(REPO, 'packages/client/dist/knock.js');

export const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));
export const log = (s: string) => process.stderr.write(`peers: ${s}\n`);
