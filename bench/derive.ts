// How long deriving knock sequences takes: N users × 3 windows (the server's
// rotation workload), per method. Prints a table; writes nothing.
// Run: pnpm bench:derive (= node --conditions=source --import tsx bench/derive.ts: the
// "source" condition resolves @otpknock/shared to its TypeScript source, so it needs no
// build step and measures exactly the code under test). Takes no arguments.
import { parseArgs } from 'node:util';
import {
  decodeSecret,
  encodeSecret,
  generateSecret,
  normalizeProfile,
  sequenceDeriver,
  windowAt,
} from '@otpknock/shared';
import type { KnockProfile, KnockProfileInput } from '@otpknock/shared';

parseArgs({ args: process.argv.slice(2), options: {} }); // strict: any argument is refused

const USERS = [1, 100, 1_000, 10_000];
const WINDOWS = 3;
const REPEATS = 7; // report the median

const profiles: [string, KnockProfileInput][] = [
  ['time (SHA1, L=3)', { method: 'time' }],
  ['time (SHA256, L=3)', { method: 'time', algorithm: 'SHA256' }],
  ['time (SHA1, L=8)', { method: 'time', length: 8 }],
  ['list-modulo (L=3)', { method: 'list-modulo', ports: Array.from({ length: 64 }, (_, i) => 40000 + i) }],
  ['prng (L=3)', { method: 'prng', exclude: [22, 443, 8080] }],
  ['prng (L=3, token 16)', { method: 'prng', tokenBytes: 16 }],
  ['static', { method: 'static', open: [7000, 8000, 9000], close: [9000, 8000, 7000] }],
];

// Secrets as the server holds them: decoded once from base32.
const secrets = Array.from({ length: Math.max(...USERS) }, () => decodeSecret(encodeSecret(generateSecret())));
const w0 = windowAt(Date.now(), 30);

function run(profile: KnockProfile, users: number): number {
  const t0 = performance.now();
  let sink = 0;
  for (let u = 0; u < users; u++) {
    const derive = sequenceDeriver(profile, secrets[u]!);
    for (let w = w0 - 1; w < w0 - 1 + WINDOWS; w++) sink += derive(w).open[0]!;
  }
  const ms = performance.now() - t0;
  if (sink < 0) console.log(sink); // keep the work observable
  return ms;
}

const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);
const header = ['method', ...USERS.map((u) => `${u.toLocaleString('en')} × ${WINDOWS}`), 'per window'];
const rows: string[][] = [];
for (const [name, input] of profiles) {
  const profile = normalizeProfile(input);
  run(profile, 2_000); // warm up the JIT
  const row = [name];
  let perWindow = 0;
  for (const users of USERS) {
    const times = Array.from({ length: REPEATS }, () => run(profile, users)).sort((a, b) => a - b);
    const median = times[REPEATS >> 1]!;
    row.push(fmt(median));
    if (users === USERS[USERS.length - 1]) perWindow = (median * 1000) / (users * WINDOWS);
  }
  row.push(`${perWindow.toFixed(2)} µs`);
  rows.push(row);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`deriveSequences: users × ${WINDOWS} windows, median of ${REPEATS} (node ${process.version})`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
