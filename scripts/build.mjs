// Bundles each command into one ESM file so that start-up reads one file
// instead of resolving hundreds of modules (the client runs before every ssh).
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';

const entries = [
  { in: 'packages/server/src/cli.ts', out: 'packages/server/dist/otpknockd.js' },
  { in: 'packages/client/src/cli.ts', out: 'packages/client/dist/knock.js' },
];

for (const entry of entries) {
  if (!existsSync(entry.in)) continue; // a package without its CLI yet
  await build({
    entryPoints: [entry.in],
    outfile: entry.out,
    bundle: true,
    platform: 'node',
    target: 'node20.19',
    format: 'esm',
    conditions: ['source'],
    sourcemap: 'linked',
    legalComments: 'none',
    banner: {
      // Bundled CommonJS dependencies may call require(); give them one.
      js: "#!/usr/bin/env node\nimport { createRequire as __otpknockCreateRequire } from 'node:module';\nconst require = __otpknockCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  await chmod(entry.out, 0o755);
}
