// runDoctor with a fake nft (fault injection only) and a real temp config.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NftRunner } from '../nft/driver.js';
import { runDoctor } from './gather.js';

const dir = mkdtempSync(join(tmpdir(), 'otpknock-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = join(dir, 'alice');
writeFileSync(secret, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n', { mode: 0o600 });
chmodSync(secret, 0o600);
const config = join(dir, 'otpknockd.yaml');
writeFileSync(
  config,
  `state_dir: ${join(dir, 'state')}\nknock: { range: 10000-30000 }\nservices:\n  ssh: { port: 22 }\nusers:\n  alice: { secret_file: alice }\n`,
  { mode: 0o600 },
);
chmodSync(config, 0o600);

const noTools = async () => {
  throw Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' });
};
const failing = (
  match: (args: readonly string[]) => boolean,
  err: object,
  ok: (args: readonly string[]) => string = () => '',
): NftRunner => ({
  async run(args) {
    if (match(args)) throw Object.assign(new Error('nft failed'), err);
    return { stdout: ok(args), stderr: '' };
  },
});

describe('runDoctor (fault injection)', () => {
  it('nft missing: a problem saying how to install it; the checks that need nft are skipped', async () => {
    const f = await runDoctor({
      configFile: config,
      runner: failing(() => true, { code: 'ENOENT' }),
      runTool: noTools,
    });
    expect(f.find((x) => x.check === 'nft')).toMatchObject({
      severity: 'problem',
      message: 'nft is not installed',
      fix: expect.stringMatching(/apt-get install nftables/),
    });
    expect(f.some((x) => x.check === 'kernel' || x.check === 'firewall')).toBe(false);
    expect(f.find((x) => x.check === 'config')).toMatchObject({ severity: 'ok' });
    expect(f.find((x) => x.check === 'clock')).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(/unknown.*chronyc: not installed/),
    });
  });

  it('the kernel refusing our ruleset (nft -c): a kernel problem; a table of our name made by someone else: a daemon problem', async () => {
    const runner = failing(
      (a) => a[0] === '-c',
      { stderr: 'Error: Could not process rule: Protocol not supported' },
      (a) =>
        a[0] === '--version'
          ? 'nftables v1.0.6 (Lester Gooch #5)\n'
          : a[0] === '-j'
            ? '{"nftables":[{"metainfo":{}}]}'
            : 'table inet otpknock {\n}\n',
    );
    const f = await runDoctor({ configFile: config, runner, runTool: noTools });
    expect(f.find((x) => x.check === 'nft')).toMatchObject({
      severity: 'ok',
      message: 'nftables v1.0.6 (Lester Gooch #5)',
    });
    expect(f.find((x) => x.check === 'kernel')).toMatchObject({
      severity: 'problem',
      message: expect.stringMatching(/nft -c refuses our ruleset: the kernel refused/),
    });
    expect(f.find((x) => x.check === 'daemon')).toMatchObject({
      severity: 'problem',
      message: expect.stringMatching(/not made by otpknockd/),
    });
    expect(f.find((x) => x.check === 'firewall')).toMatchObject({
      severity: 'ok',
      message: 'no other nftables tables',
    });
  });

  it('a broken config is a problem naming file and line; the other checks still run', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'services: {}\n', { mode: 0o600 });
    const f = await runDoctor({
      configFile: bad,
      runner: failing(
        () => false,
        {},
        () => 'nftables v1.0.6\n',
      ),
      runTool: async () => 'yes\n',
    });
    expect(f.find((x) => x.check === 'config')).toMatchObject({
      severity: 'problem',
      message: expect.stringMatching(/bad\.yaml:1: services/),
    });
    expect(f.find((x) => x.check === 'clock')).toMatchObject({ severity: 'ok' });
  });
});
