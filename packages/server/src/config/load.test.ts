import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { readFileInfo } from '@otpknock/shared/safe-file';
import { loadConfig } from './load.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const isRoot = process.getuid?.() === 0;

let dir: string;
let configFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'otpknock-config-'));
  configFile = join(dir, 'otpknockd.yaml');
  await mkdir(join(dir, 'secrets'));
  await writeFile(join(dir, 'secrets', 'alice'), `# alice\n${SECRET}\n`, { mode: 0o600 });
  await writeFile(configFile, 'services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n', {
    mode: 0o644,
  });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadError(file = configFile): Promise<ConfigError> {
  const error = await loadConfig(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadConfig with real files', () => {
  it('withoutUsers (open, close, mode): a loose secret file or a broken store record does not stop it; the rest is still checked', async () => {
    await chmod(join(dir, 'secrets', 'alice'), 0o644);
    await mkdir(join(dir, 'users.d'), { mode: 0o700 });
    await writeFile(join(dir, 'users.d', 'zed.yaml'), 'secret: [\n', { mode: 0o600 });
    await writeFile(
      configFile,
      'user_store: users.d\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: secrets/alice }\n',
      {
        mode: 0o644,
      },
    );
    await loadError(); // the daemon's own load refuses both
    const config = await loadConfig(configFile, { withoutUsers: true });
    expect(config.services.map((s) => s.name)).toEqual(['ssh']);
    expect(config.users).toEqual([]);
    await writeFile(configFile, 'services:\n  ssh: { port: 99999 }\nusers:\n  alice: { secret_file: secrets/alice }\n');
    await expect(loadConfig(configFile, { withoutUsers: true })).rejects.toThrow(/services\.ssh\.port/);
  });

  it('loads a config whose secret file is 0600', async () => {
    const config = await loadConfig(configFile);
    expect(config.file).toBe(configFile);
    expect(config.users[0]).toMatchObject({ name: 'alice', secretSource: `file ${join(dir, 'secrets', 'alice')}` });
    expect(Buffer.from(config.users[0]!.secret).toString('hex')).toBe('48656c6c6f21deadbeef'.repeat(2));
  });

  it('accepts 0400 but refuses 0644, 0640 and 0604 secret files, like ssh', async () => {
    const secret = join(dir, 'secrets', 'alice');
    await chmod(secret, 0o400);
    await expect(loadConfig(configFile)).resolves.toBeDefined();
    for (const mode of [0o644, 0o640, 0o604, 0o610]) {
      await chmod(secret, mode);
      const error = await loadError();
      expect(error.issues).toEqual([
        {
          file: configFile,
          line: 4,
          path: 'users.alice.secret_file',
          message: `permissions ${mode.toString(8).padStart(4, '0')} for ${secret} are too open: group and others must have no access to a secret; run chmod 600 ${secret}`,
        },
      ]);
    }
  });

  it('refuses a missing secret file, a directory and a FIFO (without hanging)', async () => {
    await rm(join(dir, 'secrets', 'alice'));
    expect((await loadError()).message).toContain(
      `users.alice.secret_file: ${join(dir, 'secrets', 'alice')} does not exist`,
    );
    await mkdir(join(dir, 'secrets', 'alice'), { mode: 0o700 });
    expect((await loadError()).message).toContain('is not a regular file (it is a directory)');
    await rm(join(dir, 'secrets', 'alice'), { recursive: true });
    execFileSync('mkfifo', ['-m', '600', join(dir, 'secrets', 'alice')]);
    expect((await loadError()).message).toContain('is not a regular file (it is a device, socket or pipe)');
  });

  it('follows a symlink to a private file', async () => {
    await writeFile(join(dir, 'real'), SECRET, { mode: 0o600 });
    await rm(join(dir, 'secrets', 'alice'));
    await symlink(join(dir, 'real'), join(dir, 'secrets', 'alice'));
    await expect(loadConfig(configFile)).resolves.toBeDefined();
  });

  it.runIf(isRoot)('refuses a secret file owned by another non-root user', async () => {
    const secret = join(dir, 'secrets', 'alice');
    await chown(secret, 4242, 0);
    expect((await loadError()).message).toContain(
      `users.alice.secret_file: ${secret} is owned by uid 4242; expected root; run chown root ${secret}`,
    );
    await expect(loadConfig(configFile, { daemonUid: 4242 })).resolves.toBeDefined();
  });

  it('checks the config file itself when it holds an inline secret', async () => {
    await writeFile(configFile, `services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret: ${SECRET} }\n`);
    await chmod(configFile, 0o644);
    expect((await loadError()).message).toContain(
      `users.alice.secret: inline secret in a configuration file that group or others can read (permissions 0644); run chmod 600 ${configFile}`,
    );
    await chmod(configFile, 0o600);
    await expect(loadConfig(configFile)).resolves.toMatchObject({ users: [{ secretSource: 'inline' }] });
  });

  it('refuses a config file over 4 MiB without reading it (configuration.md: at most 4 MiB)', async () => {
    await writeFile(configFile, `#${'x'.repeat(4 * 1024 * 1024)}\n`, { mode: 0o600 });
    expect((await loadError()).message).toContain(
      `${configFile}: cannot use the configuration file: it is larger than 4194304 bytes`,
    );
  });

  it('reports a missing config file', async () => {
    const error = await loadError(join(dir, 'nope.yaml'));
    expect(error.message).toContain(`${join(dir, 'nope.yaml')}: cannot read the configuration file: no such file`);
  });

  it('takes a stubbed file reader', async () => {
    const files: Record<string, string> = {
      '/etc/k/conf.yaml': 'services:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: s/alice }\n',
      '/etc/k/s/alice': SECRET,
    };
    const config = await loadConfig('/etc/k/conf.yaml', {
      daemonUid: 0,
      readFile: async (path) => {
        const text = files[path];
        if (text === undefined) throw Object.assign(new Error('x'), { code: 'ENOENT' });
        return { type: 'file', mode: 0o100600, uid: 0, size: text.length, text };
      },
    });
    expect(config.users[0]?.secretSource).toBe('file /etc/k/s/alice');
  });
});

describe('readFileInfo', () => {
  it('does not read files over the limit', async () => {
    await writeFile(join(dir, 'big'), 'x'.repeat(100), { mode: 0o600 });
    const info = await readFileInfo(join(dir, 'big'), 10);
    expect(info).toMatchObject({ type: 'file', size: 100 });
    expect(info.text).toBeUndefined();
  });
});
