// The Markdown the docs use, as man macros.
import { describe, expect, it } from 'vitest';
import {
  escapeLiteral,
  escapeText,
  inline,
  markdownToRoff,
  preformatted,
  sectionHeading,
  splitSections,
} from './roff.js';

describe('escaping', () => {
  it("makes an option's dash a minus and leaves a word's hyphen alone", () => {
    expect(escapeText('use --config or -4, not 10000-65000 (time-based)')).toBe(
      'use \\-\\-config or \\-4, not 10000-65000 (time-based)',
    );
    expect(escapeLiteral("nft -c -f - 'x'")).toBe('nft \\-c \\-f \\- \\(aqx\\(aq');
  });

  it('writes backslashes and characters outside ASCII as escapes, a dash rule never splitting one', () => {
    expect(escapeText('a\\b — c – d × e → f µs')).toBe('a\\eb \\[em] c \\[en] d \\[mu] e \\[->] f \\[mc]s');
    expect(escapeLiteral('a → b')).toBe('a \\[->] b');
    expect(() => escapeText('ü')).toThrow(/no ASCII form for "ü".*ASCII_FALLBACKS/);
  });
});

describe('inline Markdown', () => {
  it('code is bold and literal, **bold** nests around it', () => {
    expect(inline('run `knock -v` now')).toBe('run \\fBknock \\-v\\fR now');
    expect(inline('**`knock HOST`**, **`open`** — x')).toBe(
      '\\fB\\fBknock HOST\\fB\\fR, \\fB\\fBopen\\fB\\fR \\[em] x',
    );
  });

  it('a link shows its text, and the file when the text does not name it; an anchor alone adds nothing', () => {
    expect(inline('see [operations.md](operations.md#x)')).toBe('see operations.md');
    expect(inline('([how](state-machine.md))')).toBe('(how (state-machine.md))');
    expect(inline('[below](#ban)')).toBe('below');
  });

  it('an unclosed ** is an error, not a page in bold', () => {
    expect(() => inline('a **b')).toThrow(/unclosed/);
  });
});

describe('Markdown blocks', () => {
  it('sections, paragraphs, lists and code', () => {
    const md =
      '## The `knock` block\n\ntext\n.dot at a line start\n\n- one\n  more\n- two\n\n1. first\n\n```sh\n.x -y\n\n```\n### Sub';
    expect(markdownToRoff(md).split('\n')).toEqual(
      [
        '.SH THE \\fBknock\\fR BLOCK',
        '.PP',
        'text',
        '\\&.dot at a line start',
        '.IP \\(bu 2',
        'one\nmore',
        '.IP \\(bu 2',
        'two',
        '.IP 1. 4',
        'first',
        '.PP',
        '.RS 4',
        '.nf',
        '\\&.x \\-y',
        '\\&',
        '.fi',
        '.RE',
        '.SS Sub',
      ]
        .join('\n')
        .split('\n'),
    );
  });

  it('a table is tagged paragraphs: first column the tag, the last the text, the ones between as "Header: value"', () => {
    const md =
      '| Key | Default | Meaning |\n| --- | --- | --- |\n| `skew` | `1` | windows \\| more |\n| `x` | | none |';
    expect(markdownToRoff(md).split('\n')).toEqual([
      '.TP',
      '\\fBskew\\fR',
      'windows | more',
      '.br',
      'Default: \\fB1\\fR',
      '.TP',
      '\\fBx\\fR',
      'none',
    ]);
    expect(() => markdownToRoff('| a | b |\n| --- | --- |\n| 1 |')).toThrow(/1 cells under 2 headers/);
  });

  it('preformatted text keeps its lines', () => {
    expect(preformatted("  a  b\n.q\n'q")).toBe('.nf\n  a  b\n\\&.q\n\\(aqq\n.fi');
  });

  it('splits a page at its ## headings, not at ones inside code', () => {
    expect(splitSections('# t\nintro\n## A\na\n```\n## not\n```\n## B\nb')).toEqual({
      intro: 'intro',
      sections: [
        { heading: 'A', body: 'a\n```\n## not\n```' },
        { heading: 'B', body: 'b' },
      ],
    });
    expect(sectionHeading('exit status')).toBe('EXIT STATUS');
  });
});
