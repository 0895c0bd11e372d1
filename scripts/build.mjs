// Bundles each command into one file so that start-up reads one file
// instead of resolving hundreds of modules (the client runs before every ssh).
// The bundles are self-contained: the published packages have no dependencies.
//   node scripts/build.mjs            both
//   node scripts/build.mjs client     one (a package's prepack)
import { build } from 'esbuild';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

// Paths are the repository's, whatever the working directory (a package's prepack runs in it).
const root = join(import.meta.dirname, '..');
process.chdir(root);

// The client is CommonJS: Node's ESM loader costs every `knock` run ~4 ms of start-up
// that a CommonJS file does not pay. dist/package.json says so, so the file keeps its
// name (the package itself is "type": "module"). The daemon stays ESM: its start-up
// does not matter, and the server code uses top-level await.
const entries = [
  {
    name: 'server',
    in: 'packages/server/src/cli.ts',
    out: 'packages/server/dist/otpknockd.js',
    format: 'esm',
    // `files`: what ships beside the bundle: the audit reader it runs, and the unit and
    // example config an install from the package needs (docs/operations.md).
    files: ['packages/server/src/audit/nflog-reader.py', 'packaging/otpknockd.service', 'docs/otpknockd.example.yaml'],
  },
  {
    name: 'client',
    in: 'packages/client/src/cli.ts',
    out: 'packages/client/dist/knock.js',
    format: 'cjs',
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

const only = process.argv.slice(2);
const unknown = only.filter((name) => !entries.some((entry) => entry.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `build: unknown bundle ${unknown.join(', ')} (known: ${entries.map((e) => e.name).join(', ')})\n`,
  );
  process.exit(2);
}

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
  await build({
    ...common,
    entryPoints: [entry.in],
    outfile: entry.out,
    format: entry.format,
    conditions: ['source'],
    sourcemap: 'linked',
    banner: { js: banners[entry.format] },
  });
  await chmod(entry.out, 0o755);
  for (const file of entry.files ?? []) await copyFile(file, join(dirname(entry.out), basename(file)));
  if (entry.format === 'cjs') await writeFile(join(dirname(entry.out), 'package.json'), '{ "type": "commonjs" }\n');
}
