// otpknockd mode (otpknockd.md): failing to write the state dir or to apply exits 1
// (an NftError) and leaves the previous mode in place, in the file and the kernel.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serverConfig } from '@otpknock/server/testing';
import { NftDriver, NftError, type NftRunner } from '../nft/driver.js';
import { TABLE_COMMENT } from '../ruleset/render.js';
import { readMode, writeMode } from '../mode.js';
import { setMode } from './manual.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpknock-mode-'));
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

/** An nft whose table is ours and whose `-f` loads succeed or fail; it records every load. */
function fakeNft(loads: string[], fail: boolean): NftDriver {
  const runner: NftRunner = {
    run(args, input) {
      if (args[0] === 'list')
        return Promise.resolve({ stdout: `table inet otpknock {\n\tcomment "${TABLE_COMMENT}"\n}\n`, stderr: '' });
      loads.push(input ?? '');
      if (fail)
        return Promise.reject(
          Object.assign(new Error('nft failed'), {
            stderr: 'Error: Could not process rule: Operation not permitted',
            exitCode: 1,
          }),
        );
      return Promise.resolve({ stdout: '', stderr: '' });
    },
  };
  return new NftDriver(runner);
}

describe('otpknockd mode MODE', () => {
  it('applies the mode to the live table in one load and saves it', async () => {
    const loads: string[] = [];
    await setMode(serverConfig({ stateDir: join(dir, 'state') }), 'open', fakeNft(loads, false));
    expect(readMode(join(dir, 'state'))).toBe('open');
    expect(loads).toHaveLength(1);
    expect(loads[0]).toMatch(/^flush chain inet \S+ mode\n/);
  });

  it('nft refusing the change: an NftError (exit 1), and the previous mode is back in the file', async () => {
    const stateDir = join(dir, 'state');
    writeMode(stateDir, 'closed');
    const loads: string[] = [];
    await expect(setMode(serverConfig({ stateDir }), 'open', fakeNft(loads, true))).rejects.toBeInstanceOf(NftError);
    expect(loads).toHaveLength(1);
    expect(readMode(stateDir)).toBe('closed');
  });

  it('a state dir that cannot be written: an NftError (exit 1) naming it, and nothing loaded', async () => {
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'x');
    const loads: string[] = [];
    const err = await setMode(serverConfig({ stateDir: join(notADir, 'state') }), 'open', fakeNft(loads, false)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NftError);
    expect((err as Error).message).toMatch(/cannot save the mode in .*file\/state/);
    expect(loads).toEqual([]);
    expect(readFileSync(notADir, 'utf8')).toBe('x');
  });
});
