// The committed man pages and completions are what the generator makes from the
// commander programs and docs/*.md now (so --help, the docs and the man pages cannot
// drift apart), and the pages render without a warning.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { optionNames, leafCommands } from './cli-spec.js';
import { outputs, programs, REPO } from './outputs.js';
import { tool } from './test-tools.js';

const generated = outputs();
const pages = generated.filter((o) => o.path.startsWith('packaging/man/'));

describe('generated files', () => {
  it.each(generated.map((o) => [o.path, o.text]))('%s is up to date (pnpm generate)', (path, text) => {
    let committed: string;
    try {
      committed = readFileSync(new URL(path, REPO), 'utf8');
    } catch {
      throw new Error(`${path} is missing; run: pnpm generate`);
    }
    // toBe would print two 30 KB strings; the first differing line says enough.
    if (committed !== text) {
      const [a, b] = [committed.split('\n'), text.split('\n')];
      const line = a.findIndex((l, i) => l !== b[i]);
      throw new Error(
        `${path} differs from what pnpm generate makes now, from line ${line + 1}:\n  committed: ${a[line]}\n  generated: ${b[line]}\nrun: pnpm generate`,
      );
    }
  });
});

describe('man pages', () => {
  const groff = tool('groff', 'that the man pages render without warnings');

  it.skipIf(!groff).each(
    pages.flatMap((p) => [
      [p.path, 'utf8'],
      [p.path, 'ascii'],
    ]),
  )('%s renders without warnings (groff -ww -T%s)', (path, device) => {
    const r = spawnSync('groff', ['-ww', '-man', `-T${device}`, '-z', fileURLToPath(new URL(path, REPO))], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!groff)('say every option of every command, with its default', () => {
    const text = execFileSync(
      'groff',
      ['-man', '-Tutf8', '-rLL=1000n', '-P', '-cbou', fileURLToPath(new URL('packaging/man/knock.1', REPO))],
      { encoding: 'utf8' },
    );
    const { knock } = programs();
    for (const cmd of leafCommands(knock)) {
      expect(text).toContain(`knock ${cmd.name} ${cmd.usage}`);
      for (const o of cmd.options) for (const n of optionNames(o)) expect(text, `${cmd.name} ${n}`).toContain(n);
    }
    expect(text).toContain('per knock: how long to wait for the service to accept a connection (default: 3)');
  });

  it('are plain ASCII roff with no line that roff would take for a request by mistake', () => {
    for (const { path, text } of pages) {
      expect(text, path).toMatch(/^[\x20-\x7e\n]*$/);
      const lines = text.split('\n');
      const requests = lines.filter((l) => /^[.']/.test(l)).map((l) => /^[.'](\S+)/.exec(l)?.[1]);
      const known = new Set([
        '\\"',
        'TH',
        'if',
        'SH',
        'SS',
        'PP',
        'TP',
        'IP',
        'RS',
        'RE',
        'nf',
        'fi',
        'br',
        'SY',
        'YS',
        'OP',
        'B',
        'I',
        'BI',
        'RI',
        'BR',
      ]);
      expect(
        requests.filter((r) => !known.has(r!)),
        path,
      ).toEqual([]);
      expect(
        lines.filter((l) => l === ''),
        `${path}: blank lines`,
      ).toEqual(['']); // only the final newline
    }
  });
});
