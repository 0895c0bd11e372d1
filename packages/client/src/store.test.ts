import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnockError } from './errors.js';
import { checkProfile, parseStore } from './profile.js';
import { readPrivateFile } from './private-file.js';
import { defaultStorePath, readStore, updateStore } from './store.js';
import { tempDir, testProfile, writePrivate } from '@otpknock/client/testing';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

function thrown(fn: () => unknown): KnockError {
  try {
    fn();
  } catch (error) {
    return error as KnockError;
  }
  throw new Error('did not throw');
}

describe('profile store', () => {
  it('is where knock 0.1 (through conf: projectName otpknock, no suffix) kept it', () => {
    expect(defaultStorePath({ XDG_CONFIG_HOME: join(dir, 'cfg') })).toBe(join(dir, 'cfg', 'otpknock', 'profiles.json'));
    expect(defaultStorePath({ XDG_CONFIG_HOME: '' }, '/home/ada')).toBe('/home/ada/.config/otpknock/profiles.json');
    expect(defaultStorePath({}, '/home/ada')).toBe('/home/ada/.config/otpknock/profiles.json');
  });

  it('a missing store is empty', () => {
    expect(readStore(join(dir, 'none.json'))).toEqual({ version: 1, profiles: {} });
  });

  it('writes atomically with mode 0600 and reads back, names with dots intact', async () => {
    const file = join(dir, 'sub', 'profiles.json');
    await updateStore(file, (data) => {
      data.profiles['srv.example.org'] = testProfile('srv.example.org', { address: '192.0.2.7' });
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
    const back = readStore(file);
    expect(Object.keys(back.profiles)).toEqual(['srv.example.org']);
    expect(back.profiles['srv.example.org']?.address).toBe('192.0.2.7');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty('version', 1);
    // Tab-indented, as conf wrote it before; no temp file or lock left beside it.
    expect(readFileSync(file, 'utf8')).toMatch(/^\{\n\t"version": 1,\n\t"profiles": \{\n\t\t"srv\.example\.org": \{/);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['profiles.json']);
    await updateStore(file, (data) => {
      delete data.profiles['srv.example.org'];
    });
    expect(readStore(file).profiles).toEqual({});
  });

  it('keeps a store without an extension where it is', async () => {
    const file = join(dir, 'knockrc');
    await updateStore(file, (data) => {
      data.profiles['a'] = testProfile('a');
    });
    expect(readStore(file).profiles['a']?.name).toBe('a');
  });

  it('refuses a store that group or others can read, with the chmod fix', async () => {
    const file = writePrivate(join(dir, 'p.json'), '{"version":1,"profiles":{}}', 0o644);
    const error = thrown(() => readStore(file));
    expect(error).toBeInstanceOf(KnockError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('permissions 0644 are too open');
    expect(error.hint).toBe(`Run: chmod 600 '${file}'`);
    await expect(updateStore(file, () => {})).rejects.toThrow(/too open/);
    chmodSync(file, 0o600);
    expect(readStore(file).profiles).toEqual({});
  });

  it('refuses group-writable too, and directories', () => {
    const file = writePrivate(join(dir, 'p.json'), '{}', 0o620);
    expect(() => readStore(file)).toThrow(/0620 are too open/);
    expect(() => readPrivateFile(dir, 'secret file', 1024)).toThrow(/directory|not a regular file/);
  });

  it('says that JSON is broken without repeating the text around it (a secret, perhaps)', () => {
    for (const text of [
      '{"profiles":{"h":{"secret":QXJVWYQXJVWYQXJVWYQXJVWYQXJVWYQX}}}',
      '{"profiles":{"h":{"secret":"QXJVWYQXJVWYQXJVWYQXJVWYQXJVWYQX",}}}',
      '{"profiles":{"h":{"secret":"QXJVWYQXJVWYQXJVWYQXJVWYQXJVWYQX"',
    ]) {
      const file = writePrivate(join(dir, 'p.json'), text);
      const error = thrown(() => readStore(file));
      expect(error.message.startsWith(`${file}: not valid JSON (`)).toBe(true);
      expect(error.message.replaceAll(dir, '')).not.toMatch(/[QXJVWY]{3,}/);
    }
  });

  it('says where broken JSON is', () => {
    const file = writePrivate(join(dir, 'p.json'), '{"profiles": [');
    const error = thrown(() => readStore(file));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(file);
  });

  it('checkProfile names the file and field of a bad value', () => {
    const good = testProfile('h');
    expect(checkProfile(good, 'f.json').knock.method).toBe('time');
    expect(() => checkProfile({ ...good, servicePort: 70000 }, 'f.json')).toThrow(/f\.json: profiles\.h\.servicePort/);
    expect(() => checkProfile({ ...good, secret: 'not base32!' }, 'f.json')).toThrow(/profiles\.h\.secret/);
    expect(() => checkProfile({ ...good, knock: { ...good.knock, length: 99 } }, 'f.json')).toThrow(
      /profiles\.h\.knock/,
    );
  });

  it("locates a knock problem at its field in the store, in the profile schema's words", () => {
    const good = testProfile('h');
    expect(thrown(() => checkProfile({ ...good, knock: { ...good.knock, tokenBytes: 3 } }, 'f.json')).message).toBe(
      'f.json: profiles.h.knock.tokenBytes: tokenBytes must be 0 (no token) or a whole number 4–16, got 3.',
    );
    expect(thrown(() => checkProfile({ ...good, knock: { ...good.knock, exclude: [22, 0] } }, 'f.json')).message).toBe(
      'f.json: profiles.h.knock.exclude[1]: expected a port number (an integer from 1 to 65535), got 0.',
    );
  });

  it('checkProfile refuses an address (or, without one, a name) that is not a host, and a name that is not a profile name', () => {
    const good = testProfile('h', { address: '192.0.2.1' });
    for (const address of ['', 'a b', 'fe80::1%eth0', '999.1.1.1', 'x'.repeat(300)]) {
      const e = thrown(() => checkProfile({ ...good, address }, 'f.json'));
      expect(e.message).toMatch(/^f\.json: profiles\.h\.address: not a host name or address: it /);
      expect(e.message.length).toBeLessThan(200);
    }
    expect(thrown(() => checkProfile(testProfile('my@alias'), 'f.json')).message).toBe(
      'f.json: profiles.my@alias: the profile has no address, and its name is not a host name or address: it contains "@", which a host name cannot hold',
    );
    expect(thrown(() => checkProfile(testProfile('\u001b[2J'), 'f.json')).message).toBe(
      'f.json: profiles: "\\u001b[2J" is not a profile name: it starts with "\\u001b"',
    );
  });

  it('parseStore refuses a store of another version: neither read nor rewritten', async () => {
    for (const [version, shown] of [
      [2, '2'],
      [1.5, '1.5'],
      ['1', '"1"'],
      [[1], 'a list'],
      [null, 'a object'],
    ] as const) {
      const text = JSON.stringify({ version, profiles: { h: testProfile('h') } });
      expect(() => parseStore(text, 'f.json')).toThrow(
        `f.json: the profile store is version ${shown}; this knock reads only version 1 and changed nothing`,
      );
      const file = writePrivate(join(dir, 'v.json'), text);
      await expect(updateStore(file, (data) => void (data.profiles['x'] = testProfile('x')))).rejects.toThrow(
        /reads only version 1/,
      );
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
    expect(thrown(() => parseStore('{"version": 2}', 'f.json')).hint).toMatch(/newer knock/);
    expect(Object.keys(parseStore('{"profiles": {"h": {}}}', 'f.json').profiles)).toEqual(['h']);
  });

  it('parseStore tolerates an empty file and rejects non-objects', () => {
    expect(parseStore('', 'f')).toEqual({ version: 1, profiles: {} });
    expect(() => parseStore('[]', 'f')).toThrow(/JSON object/);
    writeFileSync(join(dir, 'x'), '');
  });
});
