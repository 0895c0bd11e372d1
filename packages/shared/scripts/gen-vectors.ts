// Writes docs/test-vectors.json from this library. The vectors are then
// confirmed by the independent Python implementation (docs/reference/) and
// pinned by src/derive.test.ts and src/protocol-doc.test.ts.
// Run: node --import tsx packages/shared/scripts/gen-vectors.ts
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  OtpknockError,
  decodeSecret,
  deriveCodeSequences,
  deriveFleetKey,
  deriveSequences,
  encodeSecret,
  formatOtpauthUri,
  normalizeProfile,
  parseOtpauthUri,
  totpCodeOf,
  windowAt,
} from '../src/index.js';
import type { KnockProfileInput } from '../src/index.js';

const ascii = (s: string) => encodeSecret(new TextEncoder().encode(s));
const RFC_SHA1 = ascii('12345678901234567890');
const RFC_SHA256 = ascii('12345678901234567890123456789012');
const RFC_SHA512 = ascii('1234567890123456789012345678901234567890123456789012345678901234');
const S20 = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'; // 20 bytes
const S16 = 'MFRGGZDFMZTWQ2LKNNWG23TPOA'; // "abcdefghijklmnop", exactly 128 bits

interface Spec {
  name: string;
  secret: string;
  profile: KnockProfileInput;
  window?: number;
  timeMs?: number;
}
const specs: Spec[] = [];
const add = (s: Spec) => specs.push(s);
const W = 59_000_000;

add({
  name: 'worked-example',
  secret: RFC_SHA1,
  profile: { method: 'time', length: 1, range: '10000-10009' },
  window: 0,
});
add({
  name: 'token-example',
  secret: RFC_SHA1,
  profile: { method: 'time', length: 1, range: '10000-10009', tokenBytes: 4 },
  window: 0,
}); // §11
for (const method of ['time', 'list-modulo', 'prng'] as const) {
  const base: KnockProfileInput =
    method === 'list-modulo'
      ? { method, ports: [7000, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009] }
      : { method };
  add({ name: `${method}-defaults-window-0`, secret: S20, profile: base, window: 0 });
  add({ name: `${method}-defaults-realistic-window`, secret: S20, profile: base, window: W });
  add({ name: `${method}-min-secret-128-bit`, secret: S16, profile: base, window: W + 1 });
  add({ name: `${method}-boundary-last-ms-of-window`, secret: S20, profile: base, timeMs: (W + 1) * 30_000 - 1 });
  add({ name: `${method}-boundary-first-ms-of-window`, secret: S20, profile: base, timeMs: (W + 1) * 30_000 });
  add({ name: `${method}-period-60`, secret: S20, profile: { ...base, period: 60 }, timeMs: 1_770_000_012_345 });
  add({ name: `${method}-token-4`, secret: S20, profile: { ...base, tokenBytes: 4 }, window: W });
  add({ name: `${method}-token-16`, secret: S20, profile: { ...base, tokenBytes: 16 }, window: W + 2 });
  add({ name: `${method}-window-above-2^32`, secret: S20, profile: base, window: 2 ** 33 + 5 });
}
for (const [alg, secret] of [
  ['SHA1', RFC_SHA1],
  ['SHA256', RFC_SHA256],
  ['SHA512', RFC_SHA512],
] as const) {
  add({ name: `time-${alg}`, secret, profile: { method: 'time', algorithm: alg }, window: W });
  add({
    name: `list-modulo-${alg}`,
    secret,
    profile: { method: 'list-modulo', algorithm: alg, length: 2, ports: [40000, 40001, 40002, 40003, 40004, 40005] },
    window: W,
  });
}
add({
  name: 'prng-ignores-algorithm',
  secret: RFC_SHA512,
  profile: { method: 'prng', algorithm: 'SHA512' },
  window: W,
});
for (const method of ['time', 'prng'] as const) {
  add({
    name: `${method}-length-1-range-of-exactly-2`,
    secret: S20,
    profile: { method, length: 1, range: '1-2' },
    window: W,
  });
  add({
    name: `${method}-length-8-range-of-exactly-16`,
    secret: S20,
    profile: { method, length: 8, range: '65520-65535' },
    window: W,
  });
  add({
    name: `${method}-length-8-full-range`,
    secret: S20,
    profile: { method, length: 8, range: '1-65535' },
    window: W,
  });
  add({
    name: `${method}-exclusions`,
    secret: S20,
    profile: { method, length: 4, range: '20-40', exclude: [22, 25, 30, 31, 32, 33, 34, 35, 80, 443] },
    window: W,
  });
  add({
    name: `${method}-exclusions-leave-exactly-2L`,
    secret: S20,
    profile: { method, length: 3, range: '100-110', exclude: [100, 102, 104, 106, 108] },
    window: W,
  });
  add({
    name: `${method}-exclusions-at-range-edges`,
    secret: S20,
    profile: { method, length: 2, range: '5000-5009', exclude: [5000, 5009, 5001] },
    window: W + 7,
  });
}
add({
  name: 'list-modulo-length-1-list-of-2',
  secret: S20,
  profile: { method: 'list-modulo', length: 1, ports: [9000, 8000] },
  window: W,
});
add({
  name: 'list-modulo-length-8-list-of-16',
  secret: S20,
  profile: { method: 'list-modulo', length: 8, ports: Array.from({ length: 16 }, (_, i) => 60000 - 7 * i) },
  window: W,
});
add({
  name: 'list-modulo-unsorted-list-keeps-order',
  secret: S20,
  profile: { method: 'list-modulo', length: 2, ports: [5, 65535, 1, 300, 22000] },
  window: W,
});
// Static profiles always use window 0 (§5.4): that is what client and server send and match.
add({
  name: 'static-open-close',
  secret: S20,
  profile: { method: 'static', open: [7000, 8000, 9000], close: [9000, 8000, 7000] },
  window: 0,
});
add({
  name: 'static-toggle-single-port',
  secret: S20,
  profile: { method: 'static', open: [12345], toggle: true },
  window: 0,
});
add({
  name: 'static-length-8-token',
  secret: S20,
  profile: { method: 'static', open: [1, 2, 3, 4, 5, 6, 7, 8], close: [8, 7, 6, 5, 4, 3, 2, 1], tokenBytes: 16 },
  window: 0,
});

// A prng window in which rejection sampling actually rejects a word: search for one.
{
  const secret = decodeSecret(S20);
  const P = 55001; // default range 10000-65000, no exclusions
  let found: number | undefined;
  for (let w = W; found === undefined && w < W + 2_000_000; w++) {
    const msg = Buffer.alloc(28);
    msg.write('otpknock-prng-v1', 0, 'ascii');
    msg.writeUInt32BE(Math.floor(w / 2 ** 32), 16);
    msg.writeUInt32BE(w % 2 ** 32, 20);
    msg.writeUInt32BE(0, 24);
    const block = createHmac('sha256', secret).update(msg).digest();
    for (let j = 0; j < 6; j++) {
      const m = P - j;
      if (block.readUInt32BE(4 * j) >= 2 ** 32 - (2 ** 32 % m)) {
        found = w;
        break;
      }
    }
  }
  if (found === undefined) throw new Error('no rejecting window found');
  add({ name: 'prng-rejection-sampling-rejects-a-word', secret: S20, profile: { method: 'prng' }, window: found });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const vectors = specs.map((s) => {
  const profile = normalizeProfile(s.profile, s.name);
  const window = s.timeMs !== undefined ? windowAt(s.timeMs, profile.period) : s.window!;
  if (profile.method === 'static' && window !== 0)
    throw new Error(`${s.name}: a static profile uses window 0 (protocol §5.4)`);
  const seq = deriveSequences(profile, decodeSecret(s.secret), window);
  return {
    name: s.name,
    secret: s.secret,
    profile,
    ...(s.timeMs !== undefined ? { timeMs: s.timeMs } : {}),
    window,
    open: seq.open,
    close: seq.close,
    ...(seq.token ? { token: hex(seq.token) } : {}),
  };
});

// Code mode (§10): the authenticator-app code of a user's window and the open sequence it gives.
const codeSpecs: Spec[] = [
  { name: 'code-mode-rfc-6238-window-1', secret: RFC_SHA1, profile: { method: 'time' }, window: 1 },
  {
    name: 'code-mode-ignores-exclude',
    secret: S20,
    profile: { method: 'time', length: 4, range: '20-40', exclude: [22, 25, 30, 31, 32, 33, 34, 35] },
    window: W,
  },
  {
    name: 'code-mode-prng-user-sha256-no-token',
    secret: RFC_SHA256,
    profile: { method: 'prng', algorithm: 'SHA256', tokenBytes: 8 },
    window: W,
  },
  {
    name: 'code-mode-list-modulo-user-uses-range',
    secret: S20,
    profile: { method: 'list-modulo', length: 2, range: '30000-30009', ports: [7000, 7001, 7002, 7003] },
    window: W,
  },
];
const codeMode = codeSpecs.map((s) => {
  const profile = normalizeProfile(s.profile, s.name);
  const code = totpCodeOf(decodeSecret(s.secret), profile, s.window!);
  return {
    name: s.name,
    secret: s.secret,
    profile,
    window: s.window!,
    code,
    open: deriveCodeSequences(profile, code, s.window!).open,
  };
});

// otpauth:// URIs (§7): what a reader makes of each, or which parameter it refuses.
const Q = `secret=${S20}`;
const uriSpecs: [name: string, uri: string][] = [
  ['minimal', `otpauth://totp/alice?${Q}`],
  [
    'written-by-otpknockd',
    formatOtpauthUri({
      secret: decodeSecret(S20),
      issuer: 'Acme Corp',
      account: 'alice@gw',
      host: 'gw.example.org',
      servicePort: 2222,
      profile: { method: 'list-modulo', length: 2, ports: [7001, 7002, 7003, 7004], exclude: [22] },
    }),
  ],
  [
    'percent-encoded-values',
    'otpauth://totp/Acme%20Corp:alice%40gw?secret=JBSWY3DPEHPK3PXP%4ABSWY3DPEHPK3PXP&issuer=Acme%20Corp' +
      '&method=list%2Dmodulo&length=%32&ports=7001%2C7002%2c7003,7004&exclude=%32%32&host=gw%2Eexample.org&port=22%32%32',
  ],
  ['percent-encoded-names', `otpauth://totp/alice?%73ecret=${S20}&%6Dethod=prng&token%42ytes=4`],
  ['plus-is-a-space-in-parameters', `otpauth://totp/alice?${Q}&issuer=Acme+Corp&range=20000+-+30000&exclude=+22,+80`],
  ['plus-is-a-plus-in-the-label', `otpauth://totp/Acme+Corp:bob+smith?${Q}`],
  ['percent-without-two-hex-digits-in-a-parameter', `otpauth://totp/alice?${Q}&issuer=100%`],
  ['issuer-parameter-wins-over-label', `otpauth://totp/Old:alice?${Q}&issuer=New`],
  ['empty-issuer-parameter-wins-over-label', `otpauth://totp/Old:alice?${Q}&issuer=`],
  ['encoded-colon-splits-the-label', `otpauth://totp/Acme%3Aalice?${Q}`],
  ['white-space-around-issuer-and-account', `otpauth://totp/Acme%20:%20alice?${Q}`],
  ['utf-8', `otpauth://totp/B%C3%A4r:j%C3%B6rg?${Q}&issuer=B%C3%A4r`],
  [
    'defaults-written-out',
    `otpauth://TOTP/alice?${Q}&algorithm=sha-256&period=30&digits=6&method=time&length=3&range=10000-65000&exclude=&tokenBytes=0&toggle=0`,
  ],
  [
    'unknown-and-differently-cased-names-ignored',
    `otpauth://totp/alice?${Q}&image=https%3A%2F%2Fexample.org%2Fa.png&Method=static&flag`,
  ],
  ['fragment-ignored', `otpauth://totp/alice?${Q}#method=static`],
  ['static-toggle', `otpauth://totp/alice?${Q}&method=static&open=7000,8000,9000&toggle=true`],
  ['error-name-twice-after-decoding', `otpauth://totp/alice?${Q}&method=time&%6Dethod=prng`],
  ['error-label-not-percent-encoding', `otpauth://totp/al%ZZice?${Q}`],
  ['error-type-hotp', `otpauth://hotp/alice?${Q}&counter=0`],
  ['error-digits-8', `otpauth://totp/alice?${Q}&digits=8`],
  ['error-empty-port-in-list', `otpauth://totp/alice?${Q}&method=list-modulo&ports=7001,,7002,7003`],
  ['error-number-with-sign', `otpauth://totp/alice?${Q}&period=+30`],
  ['error-colon-in-issuer-parameter', `otpauth://totp/alice?${Q}&issuer=Acme%3AInc`],
  ['error-control-character-in-account', `otpauth://totp/Acme:al%0Aice?${Q}`],
  ['error-en-dash-in-range', `otpauth://totp/alice?${Q}&range=20000%E2%80%9330000`],
];
const uris = uriSpecs.map(([name, uri]) => {
  try {
    const p = parseOtpauthUri(uri);
    return {
      name,
      uri,
      issuer: p.issuer,
      account: p.account,
      secret: encodeSecret(p.secret),
      profile: p.profile,
      ...(p.host !== undefined ? { host: p.host } : {}),
      ...(p.servicePort !== undefined ? { port: p.servicePort } : {}),
    };
  } catch (err) {
    if (!(err instanceof OtpknockError) || !name.startsWith('error-')) throw err;
    return { name, uri, error: /parameter "([^"]+)"/.exec(err.where ?? '')?.[1] ?? 'uri' };
  }
});
for (const u of uris)
  if (u.name.startsWith('error-') !== 'error' in u)
    throw new Error(`${u.name}: expected ${u.name.startsWith('error-') ? 'an error' : 'no error'}`);

// Fleet keys (§12): the key of a person on a server, and the first sequence it gives.
const fleetSpecs: { name: string; secret: string; fleet: string; server: string; profile: KnockProfileInput }[] = [
  { name: 'fleet-rfc-key-web-1', secret: RFC_SHA1, fleet: 'acme', server: 'web-1', profile: { method: 'time' } },
  { name: 'fleet-rfc-key-web-2', secret: RFC_SHA1, fleet: 'acme', server: 'web-2', profile: { method: 'time' } },
  {
    name: 'fleet-other-fleet-same-server',
    secret: RFC_SHA1,
    fleet: 'acme2',
    server: 'web-1',
    profile: { method: 'time' },
  },
  {
    name: 'fleet-128-bit-secret-dotted-server',
    secret: S16,
    fleet: 'prod',
    server: 'db-1.example.org',
    profile: { method: 'prng' },
  },
  {
    name: 'fleet-longest-names',
    secret: S20,
    fleet: 'f'.repeat(63),
    server: 's'.repeat(63),
    profile: { method: 'time', length: 2, period: 5 },
  },
];
const fleet = fleetSpecs.map((s) => {
  const profile = normalizeProfile(s.profile, s.name);
  const key = deriveFleetKey(decodeSecret(s.secret), s.fleet, s.server);
  const seq = deriveSequences(profile, key, W);
  return { ...s, profile, key: encodeSecret(key), keyHex: hex(key), window: W, open: seq.open, close: seq.close };
});

const out = new URL('../../../docs/test-vectors.json', import.meta.url);
const body = JSON.stringify({ version: 1, spec: 'docs/protocol.md', vectors, codeMode, uris, fleet }, null, 1)
  // Keep short number arrays and small objects on one line.
  .replace(/\[\n\s*([\d,\s]*?)\n\s*\]/g, (_m, inner: string) => `[${inner.replace(/\s+/g, ' ').trim()}]`)
  .replace(/"range": \{\n\s*"min": (\d+),\n\s*"max": (\d+)\n\s*\}/g, '"range": { "min": $1, "max": $2 }');
writeFileSync(out, body + '\n');
console.log(
  `${vectors.length} vectors, ${codeMode.length} code-mode vectors, ${uris.length} URIs, ${fleet.length} fleet keys → ${out.pathname}`,
);
