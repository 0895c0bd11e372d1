// The npm packages as a user gets them: @otpknock/client and @otpknock/server packed
// the way they are published (pnpm pack: prepack builds the bundle), installed with
// `npm install -g` into an empty prefix OFFLINE with an empty cache — so a dependency
// still needed at run time would fail the install — and then the INSTALLED binaries:
// `otpknockd user add` and `otpknockd run` in the server namespace, `knock import` and
// `knock HOST` in the client namespace. Namespaces: server .1, client .2, eve .3.
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NODE,
  REPO_ROOT,
  describeE2E,
  packageVersion,
  packAndInstall,
  run,
  startDaemon,
  startService,
  tcpProbe,
  useTopology,
  writeConfig,
  type ConfigDir,
  type NpmInstall,
  type NsProcess,
  type Topology,
} from './support/e2e.js';

interface Packaged extends NpmInstall {
  dir: string;
  tarballs: { client: string; server: string };
  bin: { knock: string; otpknockd: string };
}

const PACKAGES = { client: 'packages/client', server: 'packages/server' } as const;
const version = packageVersion;

/** What each tarball holds, and nothing else (no sources, maps or tests). */
const SHIPPED = {
  client: [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/knock.js',
    'dist/knock-cli.js',
    'dist/package.json',
    'dist/man/knock.1',
    'dist/completion/bash/knock',
    'dist/completion/zsh/_knock',
  ],
  server: [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/nflog-reader.py',
    'dist/otpknockd.example.yaml',
    'dist/otpknockd.js',
    'dist/otpknockd.service',
    'dist/man/otpknockd.8',
    'dist/man/otpknockd.yaml.5',
    'dist/completion/bash/otpknockd',
    'dist/completion/zsh/_otpknockd',
  ],
};

/** The man pages (section, file) and completions of each package, as packaging/ has them. */
const PAGES = {
  client: [['1', 'knock.1']],
  server: [
    ['8', 'otpknockd.8'],
    ['5', 'otpknockd.yaml.5'],
  ],
} as const;
const COMPLETIONS = {
  client: ['bash/knock', 'zsh/_knock'],
  server: ['bash/otpknockd', 'zsh/_otpknockd'],
} as const;

let packaged: Promise<Packaged> | undefined;

/** Packs both packages and installs the tarballs, once per file (both describes use it). */
function packAndInstallBoth(): Promise<Packaged> {
  packaged ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otpknock-npm-'));
    const installed = await packAndInstall(dir, [PACKAGES.client, PACKAGES.server]);
    return {
      ...installed,
      dir,
      tarballs: { client: installed.tarballs[PACKAGES.client]!, server: installed.tarballs[PACKAGES.server]! },
      bin: {
        knock: join(installed.prefix, 'bin', 'knock'),
        otpknockd: join(installed.prefix, 'bin', 'otpknockd'),
      },
    };
  })();
  return packaged;
}

afterAll(async () => {
  const p = await packaged?.catch(() => undefined);
  if (p) rmSync(p.dir, { recursive: true, force: true });
});

describe('npm packages: @otpknock/client and @otpknock/server', () => {
  let p: Packaged;
  beforeAll(async () => {
    p = await packAndInstallBoth();
  }, 120_000);

  it('hold the bundles, README and LICENSE, nothing else', async () => {
    for (const name of ['client', 'server'] as const) {
      const r = await run(['tar', '-tzf', p.tarballs[name]], { check: true });
      const files = r.stdout
        .trim()
        .split('\n')
        .map((f) => f.replace(/^package\//, ''))
        .sort();
      expect(files, name).toEqual([...SHIPPED[name]].sort());
    }
  });

  it('have a publishable manifest: not private, no dependencies, bins, engines, license', async () => {
    for (const name of ['client', 'server'] as const) {
      const r = await run(['tar', '-xzOf', p.tarballs[name], 'package/package.json'], { check: true });
      const m = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(m, name).toMatchObject({
        name: `@otpknock/${name}`,
        version: version(PACKAGES[name]),
        license: 'MIT',
        engines: { node: '>=20.19' },
      });
      expect(m['private'], name).toBeUndefined();
      for (const deps of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies'])
        expect(m[deps], `${name} ${deps}`).toBeUndefined();
      expect(r.stdout, name).not.toContain('workspace:');
      // Nothing importable that is not shipped (the workspace's exports point at src/).
      expect(m['exports'], name).toEqual({ './package.json': './package.json' });
    }
  });

  it('ship the LICENSE of the repository (a copy in each package: that is the one pnpm and npm pack)', () => {
    const rootFile = join(REPO_ROOT, 'LICENSE');
    const root = existsSync(rootFile) ? readFileSync(rootFile, 'utf8') : undefined;
    for (const pkgDir of Object.values(PACKAGES)) {
      const text = readFileSync(join(REPO_ROOT, pkgDir, 'LICENSE'), 'utf8');
      if (root === undefined) expect(text, pkgDir).toMatch(/^MIT License\n/);
      else expect(text, `${pkgDir}/LICENSE differs from LICENSE`).toBe(root);
    }
  });

  it('install offline into an empty prefix: the two packages and nothing else', () => {
    expect(readdirSync(join(p.prefix, 'lib', 'node_modules'))).toEqual(['@otpknock']);
    expect(readdirSync(join(p.prefix, 'lib', 'node_modules', '@otpknock')).sort()).toEqual(['client', 'server']);
    expect(readdirSync(join(p.prefix, 'bin')).sort()).toEqual(['knock', 'otpknockd']);
  });

  it("the client's postinstall made the code cache with this Node, knock starts with it, npm rebuild makes it again", async () => {
    // Not in the tarball (it belongs to the Node that installs): written by postinstall.
    const launcher = join(p.prefix, 'lib', 'node_modules', '@otpknock', 'client', 'dist', 'knock.js');
    const cacheFile = join(dirname(launcher), 'knock-cli.v8cache');
    const state = async () => {
      const r = await run(
        [NODE, '-e', `process.stdout.write(require(${JSON.stringify(launcher)}).compileCli().cache)`],
        {
          env: p.env,
        },
      );
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(existsSync(cacheFile)).toBe(true);
    expect(await state()).toBe('used');
    // docs/knock.md: after changing Node, `npm rebuild -g @otpknock/client` makes it again.
    rmSync(cacheFile);
    expect(await state()).toBe('absent');
    const r = await run([...p.npm('rebuild'), '@otpknock/client'], { env: p.env, timeoutMs: 60_000 });
    expect(r.code, `npm rebuild:\n${r.stdout}${r.stderr}`).toBe(0);
    expect(await state()).toBe('used');
  });

  it('installed, the man pages are linked into PREFIX/share/man (man -w finds them) and the completions ship', async () => {
    for (const name of ['client', 'server'] as const) {
      for (const [section, page] of PAGES[name]) {
        const linked = join(p.prefix, 'share', 'man', `man${section}`, page);
        expect(existsSync(linked), `${name}: ${linked}`).toBe(true);
        expect(readFileSync(linked, 'utf8'), linked).toBe(readFileSync(join(REPO_ROOT, 'packaging/man', page), 'utf8'));
        const found = await run(['man', '-w', section, page.replace(/\.\d$/, '')], {
          env: { ...p.env, MANPATH: join(p.prefix, 'share', 'man') },
        });
        // man resolves the link npm made.
        expect(found.stdout.trim(), `man -w ${section} ${page}: ${found.stderr}`).toBe(realpathSync(linked));
      }
      for (const file of COMPLETIONS[name]) {
        const shipped = join(p.prefix, 'lib', 'node_modules', '@otpknock', name, 'dist', 'completion', file);
        expect(readFileSync(shipped, 'utf8'), shipped).toBe(
          readFileSync(join(REPO_ROOT, 'packaging/completion', file), 'utf8'),
        );
      }
    }
  });

  it('installed, knock --version and otpknockd --version print the version', async () => {
    for (const [bin, pkgDir] of [
      [p.bin.knock, PACKAGES.client],
      [p.bin.otpknockd, PACKAGES.server],
    ] as const) {
      const r = await run([bin, '--version'], { env: p.env });
      expect(r.code, `${bin}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim(), bin).toBe(version(pkgDir));
    }
  });
});

describeE2E('installed otpknockd and knock: user add, run, import, knock', () => {
  const topo = useTopology();
  let t: Topology;
  let p: Packaged;
  let cfg: ConfigDir;
  let daemon: NsProcess | undefined;
  let home: string;
  let clientEnv: NodeJS.ProcessEnv;
  let uri: string;

  const knock = (args: string[], input?: string) =>
    t.exec('client', [p.bin.knock, '--config', join(home, 'profiles.json'), ...args], {
      env: clientEnv,
      timeoutMs: 20_000,
      ...(input === undefined ? {} : { input }),
    });

  beforeAll(async () => {
    p = await packAndInstallBoth();
    t = topo();
    home = mkdtempSync(join(tmpdir(), 'otpknock-npm-client-'));
    clientEnv = { ...p.env, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
    await startService(t, 'server', 22);
    cfg = writeConfig(() => '');
    cfg.write(`
user_store: users.d
state_dir: ${join(cfg.dir, 'state')}
skew: 1
step_timeout: 2s
knock: { method: time, period: 30, range: 20000-40000 }
services:
  ssh: { port: 22, open_for: 30s }
`);
    const added = await run(
      [p.bin.otpknockd, 'user', 'add', 'alice', '--host', t.server.ipv4, '--json', '--config', cfg.file],
      { env: p.env, timeoutMs: 15_000 },
    );
    expect(added.code, added.stderr).toBe(0);
    ({ uri } = JSON.parse(added.stdout) as { uri: string });
    daemon = await startDaemon(t, cfg.file, [], { command: [p.bin.otpknockd], env: p.env });
    // The audit reader (nflog-reader.py beside the installed bundle) is running.
    await daemon.waitForLine(/"event":"audit".*reading opens from NFLOG group/, { timeoutMs: 5_000 });
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop('SIGTERM');
    cfg?.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('the URI of `otpknockd user add` imported with the installed knock: knock HOST opens, for the client only', async () => {
    // The installed client writes its store (@otpknock/shared/safe-file, bundled).
    const imported = await knock(['import', '-'], `${uri}\n`);
    expect(imported.code, imported.stderr).toBe(0);

    expect(await tcpProbe(t, 'client', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed', reason: 'timeout' });
    const mark = daemon!.mark();
    const knocked = await knock([t.server.ipv4, '-v']);
    expect(knocked.code, knocked.stderr).toBe(0);
    expect(knocked.stderr).toMatch(/port 22 open/);
    expect(await tcpProbe(t, 'client', t.server.ipv4, 22)).toMatchObject({ state: 'open' });
    const audit = JSON.parse(await daemon!.waitForLine(/"event":"audit"/, { after: mark, timeoutMs: 3_000 })) as Record<
      string,
      unknown
    >;
    expect(audit).toMatchObject({ user: 'alice', address: t.client.ipv4 });
    expect(await tcpProbe(t, 'eve', t.server.ipv4, 22, 500)).toMatchObject({ state: 'closed' });
  });
});
