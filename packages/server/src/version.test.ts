// The version is written once (scripts/set-version.mjs sets every package.json) and
// what `otpknockd --version` and `knock --version` print comes from there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const REPO = new URL('../../../', import.meta.url);
const versionOf = (file: string) =>
  (JSON.parse(readFileSync(new URL(file, REPO), 'utf8')) as { version: string }).version;

describe('the version', () => {
  it('is the same in every package.json', async () => {
    const { VERSIONED } = (await import(new URL('scripts/set-version.mjs', REPO).href)) as { VERSIONED: string[] };
    const versions = Object.fromEntries(VERSIONED.map((f) => [f, versionOf(f)]));
    expect(new Set(Object.values(versions)).size, JSON.stringify(versions)).toBe(1);
  });

  it("is debian/changelog's latest entry (a native package: the same version; a prerelease's - is ~ there)", () => {
    const first = readFileSync(new URL('debian/changelog', REPO), 'utf8').split('\n')[0]!;
    const debian = /^otpknock \(([^)]+)\)/.exec(first)?.[1];
    expect(debian?.replace('~', '-'), `debian/changelog: ${first}`).toBe(versionOf('package.json'));
  });

  it('is what the CLI sources print, not a copy', () => {
    for (const cli of ['packages/server/src/program.ts', 'packages/client/src/program.ts']) {
      const text = readFileSync(new URL(cli, REPO), 'utf8');
      expect(text, cli).not.toMatch(/['"]\d+\.\d+\.\d+['"]/);
    }
  });
});
