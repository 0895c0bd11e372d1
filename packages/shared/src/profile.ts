// Validation and defaults for knock profiles. Every error names the field.
import { OtpknockError, fieldPath, quote } from './errors.js';
import type { KnockMethod, KnockProfile, KnockProfileInput, OtpAlgorithm, PortRange } from './types.js';

export const KNOCK_METHODS: readonly KnockMethod[] = ['time', 'list-modulo', 'prng', 'static'];
export const OTP_ALGORITHMS: readonly OtpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
export const MAX_SEQUENCE_LENGTH = 8;

export const PROFILE_DEFAULTS = {
  length: 3,
  period: 30,
  algorithm: 'SHA1',
  range: { min: 10000, max: 65000 },
  tokenBytes: 0,
} as const;

function fail(where: string, what: string, hint?: string): never {
  throw new OtpknockError('E_PROFILE', what, hint === undefined ? { where } : { where, hint });
}

function show(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

function integerIn(v: unknown, min: number, max: number, where: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(where, `${what} must be a whole number ${min}–${max}, got ${show(v)}`);
  }
  return v;
}

function port(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    fail(where, `${show(v)} is not a port number`, 'Ports are whole numbers 1–65535');
  }
  return v;
}

function portList(v: unknown, where: string): number[] {
  if (!Array.isArray(v)) fail(where, `expected a list of ports, got ${show(v)}`);
  return v.map((p, i) => port(p, `${where}[${i}]`));
}

function firstDuplicate(list: readonly number[]): number | undefined {
  const seen = new Set<number>();
  for (const p of list) {
    if (seen.has(p)) return p;
    seen.add(p);
  }
  return undefined;
}

function parseRange(v: unknown, where: string): PortRange {
  let min: unknown, max: unknown;
  if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*[-–]\s*(\d+)\s*$/.exec(v);
    if (!m) fail(where, `${show(v)} is not a port range`, 'Write it as MIN-MAX, e.g. "10000-65000"');
    min = Number(m[1]);
    max = Number(m[2]);
  } else if (typeof v === 'object' && v !== null) {
    ({ min, max } = v as { min?: unknown; max?: unknown });
  } else {
    fail(where, `${show(v)} is not a port range`, 'Write it as MIN-MAX, e.g. "10000-65000", or as { min, max }');
  }
  const lo = port(min, `${where}.min`);
  const hi = port(max, `${where}.max`);
  if (lo > hi) fail(where, `min ${lo} is above max ${hi}`, 'Swap them');
  return { min: lo, max: hi };
}

function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  return a.length <= b.length && a.every((p, i) => p === b[i]);
}

/**
 * Fills in defaults and validates a profile. `where` (e.g. "users.alice.knock"
 * or "/etc/otpknock/config.yaml:knock") prefixes every field in error messages.
 */
export function normalizeProfile(input: KnockProfileInput, where?: string): KnockProfile {
  const at = (field: string) => fieldPath(where, field);
  if (typeof input !== 'object' || input === null) fail(where ?? 'profile', `expected a knock profile object, got ${show(input)}`);

  const method = input.method as unknown;
  if (typeof method !== 'string' || !(KNOCK_METHODS as readonly string[]).includes(method)) {
    fail(at('method'), `unknown method ${show(method)}`, `Use one of ${KNOCK_METHODS.join(', ')}`);
  }
  const m = method as KnockMethod;
  const oneTime = m !== 'static';

  const length = input.length === undefined ? PROFILE_DEFAULTS.length : integerIn(input.length, 1, MAX_SEQUENCE_LENGTH, at('length'), 'length');
  const period = input.period === undefined ? PROFILE_DEFAULTS.period : integerIn(input.period, 1, 3600, at('period'), 'period (seconds)');

  let algorithm: OtpAlgorithm = PROFILE_DEFAULTS.algorithm;
  if (input.algorithm !== undefined) {
    const a = typeof input.algorithm === 'string' ? input.algorithm.toUpperCase().replace('-', '') : '';
    if (!(OTP_ALGORITHMS as readonly string[]).includes(a)) {
      fail(at('algorithm'), `unknown algorithm ${show(input.algorithm)}`, `Use one of ${OTP_ALGORITHMS.join(', ')}`);
    }
    algorithm = a as OtpAlgorithm;
  }

  const range = input.range === undefined ? { ...PROFILE_DEFAULTS.range } : parseRange(input.range, at('range'));
  const exclude = [...new Set(input.exclude === undefined ? [] : portList(input.exclude, at('exclude')))].sort((a, b) => a - b);
  const excluded = new Set(exclude);
  const ports = input.ports === undefined ? [] : portList(input.ports, at('ports'));
  const open = input.open === undefined ? [] : portList(input.open, at('open'));
  const close = input.close === undefined ? [] : portList(input.close, at('close'));

  if (input.toggle !== undefined && typeof input.toggle !== 'boolean') fail(at('toggle'), `expected true or false, got ${show(input.toggle)}`);
  const toggle = input.toggle ?? false;
  if (toggle && oneTime) fail(at('toggle'), `toggle applies only to method static, not ${m}`, 'Remove it: one-time methods always have a distinct close sequence');

  let tokenBytes = 0;
  if (input.tokenBytes !== undefined) {
    const t = input.tokenBytes;
    if (typeof t !== 'number' || !Number.isInteger(t) || !(t === 0 || (t >= 4 && t <= 16))) {
      fail(at('tokenBytes'), `tokenBytes must be 0 (no token) or a whole number 4–16, got ${show(t)}`);
    }
    tokenBytes = t;
  }

  if (m !== 'list-modulo' && ports.length > 0) fail(at('ports'), `ports applies only to method list-modulo, not ${m}`, m === 'static' ? 'Use open (and close) for static sequences' : 'Use range and exclude to shape the pool');
  if (m !== 'static' && (open.length > 0 || close.length > 0)) fail(at(open.length > 0 ? 'open' : 'close'), `open and close apply only to method static, not ${m}`, 'One-time methods derive them; remove the field');

  if (m === 'time' || m === 'prng') {
    const inRange = exclude.filter((p) => p >= range.min && p <= range.max).length;
    const size = range.max - range.min + 1 - inRange;
    if (size < 2 * length) {
      fail(
        at('range'),
        `range ${range.min}-${range.max} leaves ${size} port${size === 1 ? '' : 's'} after ${inRange} exclusion${inRange === 1 ? '' : 's'}, but length ${length} needs ${2 * length} (open and close each take ${length} distinct ports)`,
        'Widen the range, exclude fewer ports or lower length',
      );
    }
  } else if (m === 'list-modulo') {
    if (ports.length === 0) fail(at('ports'), 'the port list is empty', `List at least ${2 * length} distinct ports`);
    const dup = firstDuplicate(ports);
    if (dup !== undefined) fail(at('ports'), `port ${dup} is listed twice`, 'Each port may appear once');
    const bad = ports.findIndex((p) => excluded.has(p));
    if (bad >= 0) fail(at(`ports[${bad}]`), `port ${ports[bad]} is also in exclude`, 'Remove it from one of the two lists');
    if (ports.length < 2 * length) {
      fail(at('ports'), `${ports.length} port${ports.length === 1 ? '' : 's'} listed, but length ${length} needs at least ${2 * length} (open and close each take ${length} distinct ports)`, 'Add ports or lower length');
    }
  } else {
    const checkSeq = (seq: number[], name: 'open' | 'close') => {
      if (seq.length === 0) fail(at(name), `the static ${name} sequence is empty`, 'List 1–8 ports');
      if (seq.length > MAX_SEQUENCE_LENGTH) fail(at(name), `${seq.length} ports in the ${name} sequence; at most ${MAX_SEQUENCE_LENGTH} are allowed`);
      const dup = firstDuplicate(seq);
      if (dup !== undefined) fail(at(name), `port ${dup} appears twice in the ${name} sequence`, 'A port may appear once per sequence');
      const bad = seq.findIndex((p) => excluded.has(p));
      if (bad >= 0) fail(at(`${name}[${bad}]`), `port ${seq[bad]} is in exclude`, 'A knock port must not be a protected or excluded port');
    };
    checkSeq(open, 'open');
    if (toggle) {
      if (close.length > 0 && !(close.length === open.length && isPrefix(close, open))) {
        fail(at('close'), 'a separate close sequence was given although toggle is set', 'Remove close (toggle uses the open sequence for both) or turn toggle off');
      }
    } else {
      if (close.length === 0) fail(at('close'), 'static close sequence missing', 'List the close ports, or set toggle: true to use the open sequence for both');
      checkSeq(close, 'close');
      if (isPrefix(open, close) || isPrefix(close, open)) {
        const same = open.length === close.length;
        fail(
          at('close'),
          same
            ? 'close is the same sequence as open'
            : `the ${open.length < close.length ? 'open' : 'close'} sequence is a prefix of the ${open.length < close.length ? 'close' : 'open'} sequence, so the knock state machine would never reach the longer one`,
          same ? 'Use different ports, or set toggle: true' : 'Make them differ in an earlier port',
        );
      }
    }
  }

  return {
    method: m,
    length,
    period,
    algorithm,
    range,
    exclude,
    ports,
    open,
    close: m === 'static' && toggle ? [...open] : close,
    toggle,
    tokenBytes,
  };
}
