// The npm packages as a user gets them: workspace packages packed the way they are
// published (pnpm pack: prepack builds the bundle), installed with `npm install -g` into
// an empty prefix OFFLINE with an empty cache and no user config — so a dependency still
// needed at run time would fail the install. Used by test/npm-package.e2e.test.ts and by
// bench/peers (which knocks with the installed `knock`).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NODE, REPO_ROOT } from './node.js';
import { run } from './proc.js';

export interface NpmInstall {
  /** `npm install -g --prefix` went here: bins in PREFIX/bin, packages in PREFIX/lib/node_modules. */
  prefix: string;
  /** The packed tarball of each package directory given (e.g. 'packages/client'). */
  tarballs: Record<string, string>;
  /** PATH with this Node first: the installed bins start with `#!/usr/bin/env node`. */
  env: NodeJS.ProcessEnv;
  /** `npm COMMAND --global --prefix PREFIX`, offline, with this install's cache and config. */
  npm: (command: string) => string[];
}

/** The package.json version of a workspace package directory ('packages/client'). */
export const packageVersion = (pkgDir: string): string =>
  (JSON.parse(readFileSync(join(REPO_ROOT, pkgDir, 'package.json'), 'utf8')) as { version: string }).version;

/** Packs `pkgDirs` into `dir` and installs the tarballs into `dir`/prefix; throws with npm's or pnpm's output. */
export async function packAndInstall(dir: string, pkgDirs: readonly string[]): Promise<NpmInstall> {
  const env = {
    ...process.env,
    PATH: `${dirname(NODE)}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    npm_config_update_notifier: 'false',
  };
  const tarballs: Record<string, string> = {};
  for (const pkgDir of pkgDirs) {
    const r = await run(['pnpm', 'pack', '--pack-destination', dir], {
      cwd: join(REPO_ROOT, pkgDir),
      env,
      timeoutMs: 120_000,
    });
    if (r.code !== 0) throw new Error(`pnpm pack in ${pkgDir} failed:\n${r.stdout}${r.stderr}`);
    const name = pkgDir.split('/').pop()!;
    tarballs[pkgDir] = join(dir, `otpknock-${name}-${packageVersion(pkgDir)}.tgz`);
  }
  const prefix = join(dir, 'prefix');
  const npm = (command: string) => [
    'npm',
    command,
    '--global',
    '--prefix',
    prefix,
    '--offline',
    '--cache',
    join(dir, 'npm-cache'),
    '--userconfig',
    join(dir, 'npmrc'),
    '--no-audit',
    '--no-fund',
    '--loglevel=warn',
  ];
  const r = await run([...npm('install'), ...Object.values(tarballs)], { env, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`npm install failed:\n${r.stdout}${r.stderr}`);
  return { prefix, tarballs, env, npm };
}
