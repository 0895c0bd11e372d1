// otpknock's client as a user gets it: the npm package packed with pnpm and installed with
// `npm install -g --prefix` into the run's temp dir (the harness's packAndInstall, as
// test/npm-package.e2e.test.ts does): `PREFIX/bin/knock`, a link to the launcher, which runs
// the bundle with the code cache the package's postinstall made.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packAndInstall, run } from '@otpknock/e2e-harness';
import { NODE } from './params.js';

export interface InstalledClient {
  /** PREFIX/bin/knock. */
  bin: string;
  /** PATH with this Node first, for the bin's `#!/usr/bin/env node`. */
  path: string;
  /** What a start does with the code cache: 'used' when the postinstall made one this Node takes. */
  codeCache: string;
}

export async function installClient(dir: string): Promise<InstalledClient> {
  const npmDir = join(dir, 'npm');
  mkdirSync(npmDir, { mode: 0o700 });
  const installed = await packAndInstall(npmDir, ['packages/client']);
  const launcher = join(installed.prefix, 'lib', 'node_modules', '@otpknock', 'client', 'dist', 'knock.js');
  const state = await run(
    [NODE, '-e', `process.stdout.write(require(${JSON.stringify(launcher)}).compileCli().cache)`],
    { env: installed.env },
  );
  return {
    bin: join(installed.prefix, 'bin', 'knock'),
    path: installed.env['PATH']!,
    codeCache: state.code === 0 ? state.stdout : `unknown (${state.stderr.trim().slice(0, 200)})`,
  };
}
