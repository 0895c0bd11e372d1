// What the HMAC implementation costs the daemon (issue 15, item 5): the derivation of
// N users × 3 windows as otpknockd does it, with each HMAC implementation plugged into
// the same derivation code (sequenceDeriverWith): node:crypto, what otpknock uses, and
// @noble/hashes. (The hand-written SHA-1/SHA-256 these were measured against until
// commit 2106930 is gone; its figures are in bench/README.md.)
//   full load — a deriver per user (keys its HMACs) and windows W−1, W, W+1: what the
//               daemon computes at start and when it reloads its config;
//   rotation  — the derivers kept from the full load, one new window (W+2) per user: what
//               the daemon computes 3 s before each window boundary.
// Interleaved runs, median; every implementation must give the same sequences (checked).
// Run: pnpm bench:hmac [--runs N]   (= node --conditions=source --import tsx bench/hmac.ts)
// Prints a Markdown report; writes nothing.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import {
  generateSecret,
  normalizeProfile,
  windowAt,
  type KnockProfile,
  type KnockProfileInput,
  type KnockSequences,
} from '@otpknock/shared';
import {
  keyedHmac,
  sequenceDeriverWith,
  type HmacFactory,
  type HmacHash,
  type KeyedHmac,
} from '@otpknock/shared/testing';
import { machineInfo, machineLine } from './lib/machine.js';
import { markdownTable } from './lib/markdown.js';
import { wholeNumberOption } from './lib/options.js';
import { median, ms } from './lib/stats.js';

const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: 'string', default: '7' } },
});
const RUNS = wholeNumberOption('runs', options.runs, 3, 51);

const USERS = [1_000, 10_000];

const NOBLE = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const;

/** @noble/hashes used as fast as it goes: keyed once per user, the keyed state cloned per message. */
class NobleHmac implements KeyedHmac {
  readonly size: number;
  private readonly keyed: ReturnType<typeof hmac.create>;
  private readonly u64 = new Uint8Array(8);
  constructor(
    readonly hash: HmacHash,
    key: Uint8Array,
  ) {
    this.keyed = hmac.create(NOBLE[hash], key);
    this.size = this.keyed.outputLen;
  }
  digestInto(msg: Uint8Array, out: Uint8Array): Uint8Array {
    this.keyed.clone().update(msg).digestInto(out);
    return out;
  }
  digest(msg: Uint8Array): Uint8Array {
    return this.keyed.clone().update(msg).digest();
  }
  digestU64Into(hi: number, lo: number, out: Uint8Array): Uint8Array {
    const view = new DataView(this.u64.buffer);
    view.setUint32(0, hi);
    view.setUint32(4, lo);
    return this.digestInto(this.u64, out);
  }
}

const implementations: [name: string, factory: HmacFactory][] = [
  ['node:crypto createHmac (keyedHmac)', keyedHmac],
  ['@noble/hashes 2.4.0', (hash, key) => new NobleHmac(hash, key)],
];

const profiles: [string, KnockProfileInput][] = [
  ['default: time, SHA-1, 3 ports', { method: 'time' }],
  ['time, SHA-1, 8 ports (most HMACs per window)', { method: 'time', length: 8 }],
  ['prng, SHA-256, 3 ports, 16-byte token', { method: 'prng', tokenBytes: 16 }],
];

const secrets = Array.from({ length: Math.max(...USERS) }, () => generateSecret());
const W = windowAt(Date.now(), 30);

type Deriver = (window: number) => KnockSequences;

/** A checksum of what was derived, so that implementations can be compared and the work is not optimised away. */
function fold(sum: number, seq: KnockSequences): number {
  for (const p of seq.open) sum = (Math.imul(sum, 31) + p) | 0;
  for (const p of seq.close) sum = (Math.imul(sum, 31) + p) | 0;
  if (seq.token) for (const b of seq.token) sum = (Math.imul(sum, 31) + b) | 0;
  return sum;
}

function fullLoad(
  factory: HmacFactory,
  profile: KnockProfile,
  users: number,
): { ms: number; sum: number; derivers: Deriver[] } {
  const derivers: Deriver[] = [];
  let sum = 0;
  const t0 = performance.now();
  for (let u = 0; u < users; u++) {
    const derive = sequenceDeriverWith(factory, profile, secrets[u]!);
    for (let w = W - 1; w <= W + 1; w++) sum = fold(sum, derive(w));
    derivers.push(derive);
  }
  return { ms: performance.now() - t0, sum, derivers };
}

function rotation(derivers: readonly Deriver[]): { ms: number; sum: number } {
  let sum = 0;
  const t0 = performance.now();
  for (const derive of derivers) sum = fold(sum, derive(W + 2));
  return { ms: performance.now() - t0, sum };
}

/** HMAC calls per user in a full load and in a rotation (counted once, untimed). */
function hmacCalls(profile: KnockProfile): [full: number, rotation: number] {
  let calls = 0;
  const counting: HmacFactory = (hash, key) => {
    const mac = keyedHmac(hash, key);
    return {
      hash: mac.hash,
      size: mac.size,
      digestInto: (msg, out) => (calls++, mac.digestInto(msg, out)),
      digest: (msg) => (calls++, mac.digest(msg)),
      digestU64Into: (hi, lo, out) => (calls++, mac.digestU64Into(hi, lo, out)),
    };
  };
  const { derivers } = fullLoad(counting, profile, 100);
  const full = calls / 100;
  calls = 0;
  rotation(derivers);
  return [full, calls / 100];
}

const machine = machineInfo();
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadBefore = load();
const rows: string[][] = [];
for (const [profileName, input] of profiles) {
  const profile = normalizeProfile(input);
  const [callsFull, callsRotation] = hmacCalls(profile);
  for (const [, factory] of implementations) rotation(fullLoad(factory, profile, 2_000).derivers); // JIT warm-up
  for (const users of USERS) {
    const full: number[][] = implementations.map(() => []);
    const rot: number[][] = implementations.map(() => []);
    const sums = new Set<string>();
    for (let r = 0; r < RUNS; r++) {
      // Interleaved, and a different implementation first in each run.
      for (let k = 0; k < implementations.length; k++) {
        const i = (k + r) % implementations.length;
        const f = fullLoad(implementations[i]![1], profile, users);
        const g = rotation(f.derivers);
        full[i]!.push(f.ms);
        rot[i]!.push(g.ms);
        sums.add(`${f.sum}/${g.sum}`);
      }
    }
    if (sums.size !== 1)
      throw new Error(
        `the implementations derived different sequences (${profileName}, ${users} users): ${[...sums].join(', ')}`,
      );
    const cells = (xs: number[][]) => {
      const m = xs.map(median);
      return [...m.map((x) => `${ms(x)} ms`), ...m.slice(1).map((x) => `${(x / m[0]!).toFixed(1)}×`)];
    };
    const n = users.toLocaleString('en');
    rows.push([
      profileName,
      `full load: ${n} users × 3 windows`,
      (callsFull * users).toLocaleString('en'),
      ...cells(full),
    ]);
    rows.push([
      profileName,
      `rotation: ${n} users × 1 new window`,
      (callsRotation * users).toLocaleString('en'),
      ...cells(rot),
    ]);
  }
}

const first = implementations[0]![0];
console.log(
  `## HMAC implementations in the daemon's derivation\n\n${machineLine(machine)} · load average (1/5/15 min) before ${loadBefore}, after ${load()}\n`,
);
console.log(
  `Median of ${RUNS} interleaved runs; every implementation derived the same sequences. Ratios are against ${first}.\n`,
);
console.log(
  markdownTable(
    [
      'profile',
      'workload',
      'HMAC calls',
      ...implementations.map(([name]) => name),
      ...implementations.slice(1).map(([name]) => `${name} ÷ ${first.split(' ')[0]}`),
    ],
    rows,
    [
      'left',
      'left',
      'right',
      ...implementations.map(() => 'right' as const),
      ...implementations.slice(1).map(() => 'right' as const),
    ],
  ),
);
