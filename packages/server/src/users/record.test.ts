import { describe, expect, it } from 'vitest';
import { parseUserRecord } from './record.js';

const FILE = '/etc/otpknock/users.d/alice.yaml';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe('parseUserRecord on bad YAML', () => {
  it.each([
    [
      'an alias to no anchor',
      `name: alice\nsecret: ${SECRET}\nsecret_created: 2026-01-01T00:00:00Z\nservices: *x\n`,
      4,
      'invalid YAML: the alias *x refers to no anchor defined before it',
    ],
    [
      'an alias inside its own anchor',
      `name: alice\nsecret: ${SECRET}\nsecret_created: 2026-01-01T00:00:00Z\nprevious_secrets: &p [*p]\n`,
      4,
      'invalid YAML: the alias *p is inside the value it refers to',
    ],
    [
      'an unknown tag',
      `name: alice\nsecret: !secret ${SECRET}\nsecret_created: 2026-01-01T00:00:00Z\n`,
      2,
      'invalid YAML: Unresolved tag: !secret',
    ],
  ])('%s: an issue naming the file and line, not an exception', (_name, text, line, message) => {
    const r = parseUserRecord(text, FILE, 'alice');
    expect(r.user).toBeUndefined();
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ file: FILE, line, path: '' });
    expect(r.issues[0]?.message).toContain(message);
    expect(r.issues[0]?.message).not.toContain(SECRET.slice(0, 8));
  });
});
