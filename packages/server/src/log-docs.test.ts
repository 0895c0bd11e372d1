// Keeps the LOGS section of docs/otpknockd.md (what operators grep the journal for)
// from falling behind the code: every event name the daemon's code logs by name must
// be listed there as `name`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('.', import.meta.url));
const manual = readFileSync(fileURLToPath(new URL('../../../docs/otpknockd.md', import.meta.url)), 'utf8');

/** The text of docs/otpknockd.md's LOGS section. */
function logsSection(): string {
  const start = manual.indexOf('\n## LOGS\n');
  if (start < 0) throw new Error('docs/otpknockd.md has no "## LOGS" section');
  const end = manual.indexOf('\n## ', start + 1);
  return manual.slice(start, end < 0 ? undefined : end);
}

/** The text of every source file of packages/server/src, but tests. */
function allSource(): string {
  const texts: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) texts.push(readFileSync(path, 'utf8'));
    }
  };
  walk(src);
  return texts.join('\n');
}

/** Every `log.info('event', …)` (warn, error) with a literal event name. */
function loggedEvents(): Set<string> {
  return new Set([...allSource().matchAll(/\.(?:info|warn|error)\(\s*'([a-z_]+)'/g)].map((m) => m[1]!));
}

describe('docs/otpknockd.md LOGS', () => {
  it('lists every event the daemon logs by name', () => {
    const logs = logsSection();
    const events = [...loggedEvents()];
    expect(events.length).toBeGreaterThan(5); // the scan found the logger calls
    expect(events.filter((e) => !logs.includes(`\`${e}\``))).toEqual([]);
  });

  it('lists the events whose name the code computes (the reason of a load, a ban)', () => {
    const logs = logsSection();
    const code = allSource();
    for (const e of ['start', 'rotation', 'reload', 'resync', 'clock', 'ban', 'unban']) {
      expect(code, `'${e}' in packages/server/src`).toContain(`'${e}'`);
      expect(logs, e).toContain(`\`${e}\``);
    }
  });
});
