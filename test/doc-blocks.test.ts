// The reader of the docs' marked code blocks (no root needed): what the docs-run test runs.
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@otpknock/e2e-harness';
import { commandsOf, docBlock, markedBlocks } from './support/doc-blocks.js';

describe('markedBlocks', () => {
  it('takes the fenced block after a marker, indented ones too, and nothing else', () => {
    const md = [
      'text',
      '<!-- docs-run: a -->',
      '```sh',
      'echo a',
      '```',
      '',
      '  <!-- docs-run: b -->',
      '  ```sh',
      '  echo b',
      '  ```',
      '```sh',
      'echo c',
      '```',
    ].join('\n');
    expect(markedBlocks(md, 'x.md')).toEqual([
      { name: 'a', file: 'x.md', line: 3, text: 'echo a' },
      { name: 'b', file: 'x.md', line: 8, text: 'echo b' },
    ]);
  });
  it('a marker without a fence, or a fence that never ends, is an error naming the line', () => {
    expect(() => markedBlocks('<!-- docs-run: a -->\ntext\n', 'x.md')).toThrow(/x\.md:1: docs-run marker a/);
    expect(() => markedBlocks('<!-- docs-run: a -->\n```sh\necho\n', 'x.md')).toThrow(/never ends/);
  });
  it('every block the docs-run and demo tests name is in the docs, once', () => {
    const names: [string, string[]][] = [
      ['README.md', ['readme-commands', 'readme-demo-transcript', 'readme-server', 'readme-uri', 'readme-client']],
      [
        'docs/operations.md',
        [
          'ops-build',
          'ops-install',
          'ops-uri',
          'ops-client',
          'ops-apply',
          'ops-npm-pack',
          'ops-npm-install',
          // run by test/operations.e2e.test.ts
          'ops-break-glass-config',
          'ops-break-glass-bash',
          'ops-break-glass-knock',
        ],
      ],
      ['docs/team.md', ['team-add', 'team-client']],
      ['docs/knock.md', ['knock-pack', 'knock-install-linux']],
    ];
    for (const [file, blocks] of names) for (const n of blocks) expect(docBlock(REPO_ROOT, file, n).text).not.toBe('');
  });
});

describe('commandsOf', () => {
  it('drops comments (not inside quotes), joins continuations', () => {
    expect(commandsOf("a b   # note\n# whole line\nprintf '%s # x' y \\\n  z\n")).toEqual([
      'a b',
      "printf '%s # x' y z",
    ]);
  });
});
