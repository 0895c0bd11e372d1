// YAML text → plain data, keeping enough of the document to say on which line a
// field path sits.
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';

export type FieldPath = ReadonlyArray<string | number>;

export interface YamlSource {
  /** The document as plain data (undefined when it could not be parsed). */
  data: unknown;
  /** Syntax errors: line and a message without any quoted source text. */
  errors: { line?: number; message: string }[];
  /** Line of the deepest node on `path` that exists (its key's line for map entries). */
  lineOf(path: FieldPath): number | undefined;
}

export function readYaml(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);

  // The parser's messages quote the surrounding source, which may hold an inline
  // secret: keep only the first clause.
  const errors = doc.errors.map((e) => ({
    line: e.linePos?.[0].line ?? lineAt(e.pos[0]),
    message: `invalid YAML: ${e.message.split(/ at line \d|:\n|\n/)[0]}`,
  }));

  function lineOf(path: FieldPath): number | undefined {
    let node: unknown = doc.contents;
    let line = lineAt((node as Node | null)?.range?.[0]);
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment));
        if (pair === undefined) break;
        line = lineAt((pair.key as Node | null)?.range?.[0]) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        line = lineAt((item as Node | null)?.range?.[0]) ?? line;
        node = item;
      } else {
        break;
      }
    }
    return line;
  }

  const data = errors.length > 0 ? undefined : (doc.toJS({ maxAliasCount: 100 }) as unknown);
  return { data, errors, lineOf };
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** `['users', 'alice', 'services', 0]` → `users.alice.services[0]`. */
export function pathText(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  }
  return out;
}
