// The code blocks the docs ask a person to run, read from the Markdown itself so the
// docs-run test cannot drift from what the docs say. A block is picked by the marker
// on the line before its fence:
//
//   <!-- docs-run: NAME -->
//   ```sh
//   …
//   ```
//
// test/demo.e2e.test.ts picks the README's demo command and its transcript (the output
// it must print) the same way. Pure: text in, blocks out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocBlock {
  /** The marker's name. */
  name: string;
  /** The file it came from, relative to the repository, and the line of its fence. */
  file: string;
  line: number;
  /** The block's text as written, without the fences. */
  text: string;
}

const MARKER = /^<!--\s*docs-run:\s*([a-z0-9-]+)\s*-->\s*$/;

/** Every marked block of a Markdown text; a marker not followed by a fence is an error. */
export function markedBlocks(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!.trim());
    if (!m) continue;
    const fence = /^(\s*)(```+|~~~+)/.exec(lines[i + 1] ?? '');
    if (!fence) throw new Error(`${file}:${i + 1}: docs-run marker ${m[1]} is not followed by a code fence`);
    const indent = fence[1]!.length;
    const body: string[] = [];
    let j = i + 2;
    for (; j < lines.length && !lines[j]!.trim().startsWith(fence[2]!); j++) body.push(lines[j]!.slice(indent));
    if (j === lines.length) throw new Error(`${file}:${i + 2}: the code block of docs-run marker ${m[1]} never ends`);
    blocks.push({ name: m[1]!, file, line: i + 2, text: body.join('\n') });
  }
  return blocks;
}

/** The marked block `name` of a file of the repository; throws when the docs no longer have it. */
export function docBlock(repoRoot: string, file: string, name: string): DocBlock {
  const found = markedBlocks(readFileSync(join(repoRoot, file), 'utf8'), file).filter((b) => b.name === name);
  if (found.length !== 1)
    throw new Error(`${file}: expected one block marked <!-- docs-run: ${name} -->, found ${found.length}`);
  return found[0]!;
}

/**
 * The block's shell commands, one string per command: comment lines and trailing
 * `# comments` dropped, backslash continuations joined. Used to pick out single lines
 * (a long-running one to start in the background); the rest runs as written.
 */
export function commandsOf(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = pending + (pending === '' ? raw : raw.trimStart());
    if (line.trimEnd().endsWith('\\')) {
      pending = `${line.trimEnd().slice(0, -1).trimEnd()} `;
      continue;
    }
    pending = '';
    const code = stripComment(line).trim();
    if (code !== '') out.push(code);
  }
  return out;
}

/** A line without its trailing comment: a # outside quotes that starts a word. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}
