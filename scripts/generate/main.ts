// pnpm generate: writes the man pages (packaging/man) and shell completions
// (packaging/completion) from the commander programs and docs/*.md.
// `pnpm generate --check` changes nothing and exits 1 when a committed file is stale.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputs, REPO } from './outputs.js';

const check = process.argv.includes('--check');
let stale = 0;
for (const { path, text } of outputs()) {
  const file = fileURLToPath(new URL(path, REPO));
  let now: string | undefined;
  try {
    now = readFileSync(file, 'utf8');
  } catch {
    now = undefined;
  }
  if (now === text) continue;
  if (check) {
    process.stderr.write(`generate: ${path} is out of date; run: pnpm generate\n`);
    stale++;
    continue;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`generate: wrote ${path}\n`);
}
process.exitCode = stale > 0 ? 1 : 0;
