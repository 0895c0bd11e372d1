// Bundles each command into one file so that start-up reads one file
// instead of resolving hundreds of modules (the client runs before every ssh).
// The bundles are self-contained: the published packages have no dependencies.
//   node scripts/build.mjs               both
//   node scripts/build.mjs client        one (a package's prepack)
//   node scripts/build.mjs --if-changed  both, unless their inputs are those of the last full build
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

// Paths are the repository's, whatever the working directory (a package's prepack runs in it).
const root = join(import.meta.dirname, '..');
process.chdir(root);

// The client is CommonJS: Node's ESM loader costs every `knock` run ~4 ms of start-up
// that a CommonJS file does not pay. dist/package.json says so, so the files keep their
// names (the package itself is "type": "module"). The client is two files: knock.js, the
// executable (src/launch.ts), runs knock-cli.js, the bundle, through V8's code cache
// knock-cli.v8cache, which is made after bundling by the Node that builds (and by the
// package's postinstall where it is installed). The daemon stays ESM: its start-up does
// not matter, and the server code uses top-level await.
/** [source, path in dist/] of a command's man pages and its bash and zsh completions. */
function pagesAndCompletions(command, pages) {
  return [
    ...pages.map((page) => [page, `man/${basename(page)}`]),
    [`packaging/completion/bash/${command}`, `completion/bash/${command}`],
    [`packaging/completion/zsh/_${command}`, `completion/zsh/_${command}`],
  ];
}

const entries = [
  {
    name: 'server',
    in: 'packages/server/src/cli.ts',
    out: 'packages/server/dist/otpknockd.js',
    format: 'esm',
    // `files`: what ships beside the bundle: the audit reader it runs, and the unit and
    // example config an install from the package needs (docs/operations.md); then the
    // man pages (package.json's "man": npm links them into PREFIX/share/man) and the
    // shell completions (packaging/, generated), in dist/man and dist/completion.
    files: [
      'packages/server/src/audit/nflog-reader.py',
      'packaging/otpknockd.service',
      'docs/otpknockd.example.yaml',
      ...pagesAndCompletions('otpknockd', ['packaging/man/otpknockd.8', 'packaging/man/otpknockd.yaml.5']),
    ],
  },
  {
    name: 'client',
    in: 'packages/client/src/cli.ts',
    out: 'packages/client/dist/knock-cli.js',
    format: 'cjs',
    // Not an executable: knock.js compiles it inside a function, where a #! line is an error.
    executable: false,
    // ASCII only: one non-ASCII character (esbuild keeps some comments and regular
    // expressions as written) makes Node decode the whole file the slow way and V8 hold
    // it as two bytes per character.
    ascii: true,
  },
  {
    name: 'client',
    in: 'packages/client/src/launch.ts',
    out: 'packages/client/dist/knock.js',
    format: 'cjs',
    sourcemap: false,
    // Made once the bundle is there (see above).
    codeCache: true,
    files: pagesAndCompletions('knock', ['packaging/man/knock.1']),
  },
];

const banners = {
  // Bundled CommonJS dependencies may call require(); give them one.
  esm: "#!/usr/bin/env node\nimport { createRequire as __otpknockCreateRequire } from 'node:module';\nconst require = __otpknockCreateRequire(import.meta.url);",
  cjs: '#!/usr/bin/env node',
};

// As a package's prepack: only pnpm (pnpm pack, pnpm publish) writes the packed package.json
// right, with workspace: versions resolved and publishConfig's exports; npm would pack
// the workspace's manifest as it is.
if (process.env.npm_lifecycle_event === 'prepack' && !/^pnpm\//.test(process.env.npm_config_user_agent ?? '')) {
  process.stderr.write(
    'build: pack and publish @otpknock/client and @otpknock/server with pnpm (pnpm pack, pnpm publish), not npm\n',
  );
  process.exit(2);
}

const ifChanged = process.argv.includes('--if-changed');
const only = process.argv.slice(2).filter((arg) => arg !== '--if-changed');
const unknown = only.filter((name) => !entries.some((entry) => entry.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `build: unknown bundle ${unknown.join(', ')} (known: ${entries.map((e) => e.name).join(', ')})\n`,
  );
  process.exit(2);
}

// --if-changed (scripts/setup.sh, so the demo and the test command run inside a suite that
// already built do not rewrite the bundles under it): the inputs' digest is stamped after
// every full build, and a build with the same digest and every output present is skipped.
const STAMP = 'node_modules/.cache/otpknock-build/inputs.sha256';
const outputsOf = (entry) => [
  entry.out,
  ...(entry.files ?? []).map((f) => join(dirname(entry.out), Array.isArray(f) ? f[1] : basename(f))),
];
const digest = only.length === 0 ? inputsDigest() : '';
if (ifChanged && only.length === 0 && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === digest) {
  if (entries.flatMap(outputsOf).every((file) => existsSync(file))) {
    process.stdout.write('build: the bundles are up to date (their inputs are those of the last build)\n');
    process.exit(0);
  }
}
// A partial build leaves the set of bundles unlike any full build's: the next --if-changed builds.
await rm(STAMP, { force: true });

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  legalComments: 'none',
  logLevel: 'warning',
};

for (const entry of entries) {
  if (only.length > 0 && !only.includes(entry.name)) continue;
  if (!existsSync(entry.in)) continue; // a package without its CLI yet
  const executable = entry.executable ?? true;
  await build({
    ...common,
    entryPoints: [entry.in],
    outfile: entry.out,
    format: entry.format,
    conditions: ['source'],
    sourcemap: entry.sourcemap ?? 'linked',
    // CommonJS: import() of Node's own modules becomes require(), which works in any
    // context (knock-cli.js runs in a vm.Script, which has no loader for import()).
    ...(entry.format === 'cjs' ? { supported: { 'dynamic-import': false } } : {}),
    ...(executable ? { banner: { js: banners[entry.format] } } : {}),
  });
  if (entry.ascii) await writeFile(entry.out, escapeNonAscii(await readFile(entry.out, 'utf8')));
  if (executable) await chmod(entry.out, 0o755);
  // A file: beside the bundle, under its own name; [source, path]: at that path in dist/.
  for (const file of entry.files ?? []) {
    const [from, to] = Array.isArray(file) ? file : [file, basename(file)];
    await mkdir(dirname(join(dirname(entry.out), to)), { recursive: true });
    await copyFile(from, join(dirname(entry.out), to));
  }
  if (entry.format === 'cjs') await writeFile(join(dirname(entry.out), 'package.json'), '{ "type": "commonjs" }\n');
  if (entry.codeCache) writeCodeCache(entry.out);
}

if (only.length === 0) {
  await mkdir(dirname(STAMP), { recursive: true });
  await writeFile(STAMP, `${digest}\n`);
}

/**
 * One digest of everything a full build reads: the sources, this script, the dependencies
 * (the lockfile and the manifests), the files copied beside the bundles, and the Node that
 * builds (the client's code cache is only valid for it).
 */
function inputsDigest() {
  const files = [
    'scripts/build.mjs',
    'package.json',
    'pnpm-lock.yaml',
    ...entries.flatMap((entry) => (entry.files ?? []).map((f) => (Array.isArray(f) ? f[0] : f))),
    ...['shared', 'server', 'client'].flatMap((pkg) => [
      `packages/${pkg}/package.json`,
      ...filesUnder(`packages/${pkg}/src`),
    ]),
  ];
  const hash = createHash('sha256').update(`${process.version}\n`);
  for (const file of [...new Set(files)].sort()) {
    hash.update(`${file}\n`);
    hash.update(existsSync(file) ? readFileSync(file) : '(missing)');
    hash.update('\n');
  }
  return hash.digest('hex');
}

/** Every file below `dir`, relative to the repository. */
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(root, join(d.parentPath, d.name)));
}

/** JavaScript text with every non-ASCII character written as a \\u escape (valid in comments, strings, templates and regular expressions alike). */
function escapeNonAscii(text) {
  // eslint-disable-next-line no-control-regex -- the range of ASCII is the point
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Makes the code cache beside the launcher `file` in a Node of its own (it sets V8 flags), and checks in another that a start uses it. */
function writeCodeCache(file) {
  const launcher = JSON.stringify(join(root, file));
  const made = spawnSync(process.execPath, ['-e', `require(${launcher}).writeCodeCache()`], { encoding: 'utf8' });
  const state =
    made.status === 0
      ? spawnSync(process.execPath, ['-e', `process.stdout.write(require(${launcher}).compileCli().cache)`], {
          encoding: 'utf8',
        })
      : made;
  if (state.status !== 0 || state.stdout !== 'used') {
    process.stderr.write(`build: the code cache beside ${file} is not usable (${state.stdout}):\n${state.stderr}`);
    process.exit(1);
  }
}
