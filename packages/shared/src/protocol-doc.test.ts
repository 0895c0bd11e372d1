// docs/protocol.md and docs/test-vectors.json make promises that other
// implementations rely on; these tests hold the files and the code to them.
// (derive.test.ts checks every derivation vector; reference.test.ts has the
// independent Python implementation confirm them.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveCodeSequences, totpCodeOf } from './code-mode.js';
import { deriveSequences } from './derive.js';
import { parseOtpauthUri } from './otpauth.js';
import { buildPayload, parsePayloadSpec } from './payload.js';
import { normalizeProfile, PROFILE_DEFAULTS } from './profile.js';
import { OtpknockError } from './errors.js';
import { decodeSecret, encodeSecret } from './secret.js';
import type { KnockProfile } from './types.js';

interface Vector {
  name: string;
  profile: KnockProfile;
  window: number;
  timeMs?: number;
  token?: string;
}
interface CodeModeVector {
  name: string;
  secret: string;
  profile: KnockProfile;
  window: number;
  code: string;
  open: number[];
}
interface UriVector {
  name: string;
  uri: string;
  issuer?: string;
  account?: string;
  secret?: string;
  profile?: KnockProfile;
  host?: string;
  port?: number;
  /** The parameter a reader refuses (or type, label). */
  error?: string;
}
const vectorsFile = new URL('../../../docs/test-vectors.json', import.meta.url);
const file = JSON.parse(readFileSync(vectorsFile, 'utf8')) as {
  version: number;
  spec: string;
  vectors: Vector[];
  codeMode: CodeModeVector[];
  fleet: Record<string, unknown>[];
  uris: UriVector[];
};
const protocol = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** The text of `## N. …` in docs/protocol.md, up to the next `## `. */
function section(n: number): string {
  const start = protocol.indexOf(`\n## ${n}. `);
  if (start < 0) throw new Error(`docs/protocol.md has no section ${n}`);
  const end = protocol.indexOf('\n## ', start + 1);
  return protocol.slice(start, end < 0 ? undefined : end);
}

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe('docs/protocol.md §2', () => {
  const defaults = new Map(
    [...section(2).matchAll(/^\| `(\w+)` +\|.*\| +(.+?) +\|$/gm)].map((m) => [m[1]!, m[2]!.replace(/`/g, '')]),
  );

  it('gives the defaults that the code fills in', () => {
    const filled = normalizeProfile({ method: 'time' });
    expect(Object.fromEntries(defaults)).toEqual({
      method: parseOtpauthUri(`otpauth://totp/a?secret=${SECRET}`).profile.method, // a URI without method
      length: String(PROFILE_DEFAULTS.length),
      period: String(PROFILE_DEFAULTS.period),
      algorithm: PROFILE_DEFAULTS.algorithm,
      range: `${PROFILE_DEFAULTS.range.min}-${PROFILE_DEFAULTS.range.max}`,
      exclude: filled.exclude.length === 0 ? 'none' : String(filled.exclude),
      ports: '—',
      open: '—',
      close: '—',
      toggle: String(filled.toggle),
      tokenBytes: String(PROFILE_DEFAULTS.tokenBytes),
    });
  });

  it('length does not apply to static, but is checked there too', () => {
    const fixed = { method: 'static', open: [7000, 8000], close: [9000] };
    const secret = decodeSecret(SECRET);
    expect(deriveSequences(normalizeProfile({ ...fixed, length: 8 }), secret, 0)).toEqual(
      deriveSequences(normalizeProfile(fixed), secret, 0),
    );
    expect(() => normalizeProfile({ ...fixed, length: 9 })).toThrow(/length/);
  });

  it('fields without a default belong to their method; those with one are taken by any', () => {
    expect(() => normalizeProfile({ method: 'time', ports: [1, 2, 3, 4, 5, 6] })).toThrow(
      /ports applies only to method list-modulo/,
    );
    expect(() => normalizeProfile({ method: 'prng', open: [1] })).toThrow(/open and close apply only to method static/);
    expect(() => normalizeProfile({ method: 'list-modulo', ports: [1, 2], length: 1, toggle: true })).toThrow(
      /toggle applies only to method static/,
    );
    expect(
      normalizeProfile({
        method: 'list-modulo',
        ports: [1, 2],
        length: 1,
        toggle: false,
        range: '5–9',
        algorithm: 'SHA512',
        period: 60,
      }),
    ).toMatchObject({ range: { min: 5, max: 9 } });
    expect(
      normalizeProfile({ method: 'static', open: [1], close: [1], toggle: true, exclude: [9, 3, 9] }),
    ).toMatchObject({ close: [1], exclude: [3, 9] });
  });
});

describe('docs/test-vectors.json', () => {
  it('has the keys §9 describes, and says which spec and version it belongs to', () => {
    const described = new Set([...section(9).matchAll(/"(\w+)":/g)].map((m) => m[1]!));
    const used = new Set([
      ...Object.keys(file),
      ...file.vectors.flatMap((v) => [...Object.keys(v), ...Object.keys(v.profile)]),
      ...file.codeMode.flatMap((v) => Object.keys(v)),
      ...file.uris.flatMap((u) => Object.keys(u)),
      ...file.fleet.flatMap((f) => Object.keys(f)),
    ]);
    expect([...used].filter((k) => !described.has(k))).toEqual([]);
    expect(file.spec).toBe('docs/protocol.md');
    expect(protocol).toMatch(new RegExp(`^# otpknock protocol, version ${file.version}$`, 'm'));
  });

  it('static vectors use window 0, as client and server do (§5.4)', () => {
    const statics = file.vectors.filter((v) => v.profile.method === 'static');
    expect(statics.length).toBeGreaterThan(0);
    expect(statics.some((v) => v.token !== undefined)).toBe(true);
    for (const v of statics)
      expect({ name: v.name, window: v.window, timeMs: v.timeMs }).toEqual({
        name: v.name,
        window: 0,
        timeMs: undefined,
      });
  });
});

describe('otpauth URI vectors (§7)', () => {
  it('cover percent-encoded values and names, + in label and query, and refusals', () => {
    const names = file.uris.map((u) => u.name);
    for (const n of [
      'percent-encoded-values',
      'percent-encoded-names',
      'plus-is-a-space-in-parameters',
      'plus-is-a-plus-in-the-label',
      'error-name-twice-after-decoding',
    ])
      expect(names).toContain(n);
  });
  for (const u of file.uris) {
    it(u.name, () => {
      if (u.error !== undefined) {
        let caught: unknown;
        try {
          parseOtpauthUri(u.uri);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(OtpknockError);
        expect((caught as OtpknockError).where).toBe(`otpauth URI parameter "${u.error}"`);
        return;
      }
      const p = parseOtpauthUri(u.uri);
      expect({
        issuer: p.issuer,
        account: p.account,
        secret: encodeSecret(p.secret),
        profile: p.profile,
        host: p.host,
        port: p.servicePort,
      }).toEqual({
        issuer: u.issuer,
        account: u.account,
        secret: u.secret,
        profile: u.profile,
        host: u.host,
        port: u.port,
      });
    });
  }
});

describe('docs/protocol.md §11', () => {
  it("states the test vector's payloads byte by byte, as the code builds them", () => {
    const v = file.vectors.find((x) => x.name === 'token-example')!;
    const T = Uint8Array.from(Buffer.from(v.token!, 'hex'));
    const spaced = (b: Uint8Array) =>
      Buffer.from(b)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 ');
    const text = section(11).replace(/\s+/g, ' ');
    expect(text).toContain(`= \`${spaced(T)}\``);
    expect(text).toContain(`\`none\` the payload is \`${spaced(buildPayload(parsePayloadSpec('none'), T))}\``);
    expect(text).toContain(`\`text:hi\` it is \`${spaced(buildPayload(parsePayloadSpec('text:hi'), T))}\``);
    expect(text).toContain(
      `\`dns\` bytes 12… are \`${spaced(buildPayload(parsePayloadSpec('dns'), T).subarray(12))}\``,
    );
  });
});

describe('code-mode vectors (§10)', () => {
  for (const v of file.codeMode) {
    it(v.name, () => {
      const profile = normalizeProfile(v.profile, v.name);
      expect(profile).toEqual(v.profile);
      const code = totpCodeOf(decodeSecret(v.secret), profile, v.window);
      expect(code).toBe(v.code);
      expect(deriveCodeSequences(profile, code, v.window).open).toEqual(v.open);
    });
  }
});
