// Bundles each command into one file so that start-up reads one file
// instead of resolving hundreds of modules (the client runs before every ssh).
import { build } from 'esbuild';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

// The client is CommonJS: Node's ESM loader costs every `knock` run ~4 ms of start-up
// that a CommonJS file does not pay. dist/package.json says so, so the file keeps its
// name (the package itself is "type": "module"). The daemon stays ESM: its start-up
// does not matter, and the server code uses top-level await.
const entries = [
  // `files`: what the bundle reads beside itself at run time.
  { in: 'packages/server/src/cli.ts', out: 'packages/server/dist/otpknockd.js', format: 'esm', files: ['packages/server/src/audit/nflog-reader.py'] },
  { in: 'packages/client/src/cli.ts', out: 'packages/client/dist/knock.js', format: 'cjs' },
];

const banners = {
  // Bundled CommonJS dependencies may call require(); give them one.
  esm: "#!/usr/bin/env node\nimport { createRequire as __otpknockCreateRequire } from 'node:module';\nconst require = __otpknockCreateRequire(import.meta.url);",
  cjs: '#!/usr/bin/env node',
};

for (const entry of entries) {
  if (!existsSync(entry.in)) continue; // a package without its CLI yet
  await build({
    entryPoints: [entry.in],
    outfile: entry.out,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: entry.format,
    conditions: ['source'],
    sourcemap: 'linked',
    legalComments: 'none',
    banner: { js: banners[entry.format] },
    logLevel: 'warning',
  });
  await chmod(entry.out, 0o755);
  for (const file of entry.files ?? []) await copyFile(file, join(dirname(entry.out), basename(file)));
  if (entry.format === 'cjs') await writeFile(join(dirname(entry.out), 'package.json'), '{ "type": "commonjs" }\n');
}
