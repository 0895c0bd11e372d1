// Text for man(7) pages: escaping, and the Markdown the docs are written in (the subset
// they use: headings, paragraphs, fenced code, pipe tables, lists, `code`, **bold**,
// [links](…)) turned into man macros. The output is plain ASCII: other characters
// become groff glyph escapes, so no preprocessor or input encoding is needed.

/** Named glyphs for the characters the docs use; others become \[uXXXX]. */
const GLYPHS: Record<string, string> = {
  '—': '\\[em]',
  '–': '\\[en]',
  '−': '\\[mi]',
  '×': '\\[mu]',
  '±': '\\[+-]',
  '§': '\\[sc]',
  '→': '\\[->]',
  '←': '\\[<-]',
  '…': '\\[u2026]',
  µ: '\\[mc]',
  '≥': '\\[>=]',
  '≤': '\\[<=]',
};

/**
 * What a terminal without the glyph shows (man -Tascii, LANG=C), as roff: groff has ASCII forms
 * for the glyphs above except these. A character outside both lists is an error, so that
 * no page warns "can't find special character" on such a terminal.
 */
const ASCII_FALLBACKS: Record<string, string> = {
  u2026: '...',
  sc: 'section\\~',
  mc: 'u',
};

function glyph(ch: string): string {
  const named = GLYPHS[ch];
  if (named !== undefined) return named;
  const code = `u${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (ASCII_FALLBACKS[code] === undefined)
    throw new Error(
      `no ASCII form for ${JSON.stringify(ch)} (U+${code.slice(1)}): add one to ASCII_FALLBACKS in scripts/generate/roff.ts`,
    );
  return `\\[${code}]`;
}

/** `.char` requests that give the page's glyphs without an ASCII form one, where the device lacks them. */
export function glyphFallbacks(page: string): string[] {
  const used = new Set(Array.from(page.matchAll(/\\\[([^\]]+)\]/g), (m) => m[1]!));
  return Object.entries(ASCII_FALLBACKS)
    .filter(([name]) => used.has(name))
    .map(([name, text]) => `.if !c\\[${name}] .char \\[${name}] ${text}`);
}

/** Stands for a minus sign until escapeChars writes it (a dash rule sees the raw text). */
const MINUS = '\u0001';

/** Backslashes, minus signs and characters outside ASCII, in one pass. */
function escapeChars(text: string, literal: boolean): string {
  return Array.from(text, (ch) => {
    if (ch === '\\') return '\\e';
    if (ch === MINUS || (literal && ch === '-')) return '\\-';
    if (literal && ch === "'") return '\\(aq';
    if (literal && ch === '`') return '\\(ga';
    return /[\x20-\x7e\n\t]/.test(ch) ? ch : glyph(ch);
  }).join('');
}

/**
 * Prose: an option's dash is a minus sign (`\-`, so that a copied `--config` is two
 * ASCII hyphens); a dash inside a word (10000-65000, time-based) stays a hyphen.
 */
export function escapeText(text: string): string {
  return escapeChars(
    text.replace(
      /(^|[\s(["'/|=,])(-+)(?=[\w-])/g,
      (_, before: string, dashes: string) => before + MINUS.repeat(dashes.length),
    ),
    false,
  );
}

/** Literal text (commands, code): every dash a minus, quotes as typed. */
export function escapeLiteral(text: string): string {
  return escapeChars(text, true);
}

/** Lines that roff would read as requests (a leading . or ') are protected. */
export function protectLines(text: string): string {
  return text.replace(/^(?=[.'])/gm, '\\&');
}

/** Preformatted lines, kept as they are (examples, the help's aligned tables). */
export function preformatted(text: string, indent = 0): string {
  const body = text
    .split('\n')
    .map((line) => (line.trim() === '' ? '\\&' : protectLines(escapeLiteral(line))))
    .join('\n');
  const [open, close] = indent > 0 ? [`.RS ${indent}\n`, '\n.RE'] : ['', ''];
  return `${open}.nf\n${body}\n.fi${close}`;
}

/** Inline Markdown (`code`, **bold**, [text](target)) as roff text. */
export function inline(markdown: string): string {
  let out = '';
  let bold = false;
  const font = () => (bold ? '\\fB' : '\\fR');
  const re = /`([^`]+)`|\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (let m = re.exec(markdown); m !== null; m = re.exec(markdown)) {
    out += escapeText(markdown.slice(last, m.index));
    last = re.lastIndex;
    if (m[1] !== undefined) {
      out += `\\fB${escapeLiteral(m[1])}${font()}`;
    } else if (m[0] === '**') {
      bold = !bold;
      out += font();
    } else {
      const text = inline(m[2]!);
      out += (text.includes('\\f') ? text + font() : text) + linkTarget(m[2]!, m[3]!);
    }
  }
  out += escapeText(markdown.slice(last));
  if (bold) throw new Error(`unclosed ** in: ${markdown.slice(0, 80)}`);
  return out;
}

/**
 * A link shows its text; the target is added only when the text does not name it and it
 * is another file (docs/operations.md is installed beside the pages, an anchor is not).
 */
function linkTarget(text: string, target: string): string {
  const file = target.replace(/#.*$/, '');
  if (file === '') return '';
  const base = file.split('/').pop()!;
  return text.includes(base) ? '' : ` (${escapeText(file)})`;
}

/** Plain text of inline Markdown: the NAME line, which apropos reads. */
export function plainInline(markdown: string): string {
  return markdown
    .replace(/`([^`]+)`/g, '$1')
    .replace(/\*\*/g, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1');
}

/** Heading text of a section: upper case except code (`break_glass` stays a key). */
export function sectionHeading(markdown: string): string {
  return inline(
    markdown.replace(
      /(`[^`]*`)|([^`]+)/g,
      (_, code: string | undefined, text: string | undefined) => code ?? text!.toUpperCase(),
    ),
  );
}

/**
 * Markdown blocks as man macros. `##` is a section (.SH), `###` a subsection (.SS);
 * a table becomes tagged paragraphs (its first column the tag, the last the text, the
 * ones between as "Header: value" lines), since tbl tables of prose fold badly at 80
 * columns.
 */
export function markdownToRoff(markdown: string): string {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  const paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length === 0) return;
    out.push('.PP', protectLines(inline(paragraph.join('\n'))));
    paragraph.length = 0;
  };
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^```/.exec(line);
    const heading = /^(#{1,4}) (.*)$/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) code.push(lines[i]!);
      if (i >= lines.length) throw new Error('unclosed ``` block');
      i++;
      out.push('.PP', preformatted(code.join('\n'), 4));
    } else if (heading) {
      flush();
      i++;
      const [level, text] = [heading[1]!.length, heading[2]!];
      if (level === 1) continue; // the page's title: .TH says it
      if (level === 2) out.push(`.SH ${sectionHeading(text)}`);
      else if (level === 3) out.push(`.SS ${inline(text)}`);
      else out.push('.PP', `\\fB${inline(text).replace(/\\fR/g, '\\fB')}\\fR`); // man has no third level
    } else if (/^\|/.test(line)) {
      flush();
      const rows: string[] = [];
      for (; i < lines.length && /^\|/.test(lines[i]!); i++) rows.push(lines[i]!);
      out.push(tableToRoff(rows));
    } else if (/^(- |\d+\. )/.test(line)) {
      flush();
      for (; i < lines.length && /^(- |\d+\. )/.test(lines[i]!);) {
        const item = /^(- |(\d+)\. )(.*)$/.exec(lines[i]!)!;
        const text = [item[3]!];
        for (i++; i < lines.length && /^ {2,}\S/.test(lines[i]!); i++) text.push(lines[i]!.trim());
        out.push(item[2] === undefined ? '.IP \\(bu 2' : `.IP ${item[2]}. 4`, protectLines(inline(text.join('\n'))));
      }
    } else if (line.trim() === '') {
      flush();
      i++;
    } else {
      paragraph.push(line);
      i++;
    }
  }
  flush();
  return out.join('\n');
}

function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|\s*$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

function tableToRoff(rows: readonly string[]): string {
  const [header, rule, ...body] = rows;
  if (header === undefined || rule === undefined || !/^\|[\s:|-]+\|?\s*$/.test(rule))
    throw new Error(`not a table: ${rows[0]}`);
  const names = cells(header);
  const out: string[] = [];
  for (const row of body) {
    const c = cells(row);
    if (c.length !== names.length)
      throw new Error(`table row with ${c.length} cells under ${names.length} headers: ${row}`);
    const middle = c.slice(1, -1).flatMap((value, k) => {
      if (value === '') return [];
      const name = names[k + 1]!;
      return ['.br', protectLines(inline(name === '' ? value : `${name[0]!.toUpperCase()}${name.slice(1)}: ${value}`))];
    });
    out.push('.TP', protectLines(boldTag(c[0]!)), protectLines(inline(c[c.length - 1]!)), ...middle);
  }
  return out.join('\n');
}

/** A table's first cell as a tag: bold when it is plain words, as written when it has code. */
function boldTag(cell: string): string {
  return cell.includes('`') ? inline(cell) : `\\fB${inline(cell)}\\fR`;
}

/** Splits a Markdown page into its `##` sections: intro text first (title dropped), then each by heading. */
export function splitSections(markdown: string): { intro: string; sections: { heading: string; body: string }[] } {
  const sections: { heading: string; body: string }[] = [];
  let intro = '';
  let current: { heading: string; body: string } | undefined;
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) inFence = !inFence;
    const h2 = inFence ? null : /^## (.*)$/.exec(line);
    if (h2) {
      current = { heading: h2[1]!, body: '' };
      sections.push(current);
    } else if (current) current.body += `${line}\n`;
    else if (!/^# /.test(line)) intro += `${line}\n`;
  }
  return { intro: intro.trim(), sections: sections.map((s) => ({ ...s, body: s.body.trim() })) };
}
