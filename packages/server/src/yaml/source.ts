// YAML text → plain data, keeping enough of the document to say on which line a
// field path sits.
import { quote } from '@otpknock/shared';
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Node } from 'yaml';

export type FieldPath = ReadonlyArray<string | number>;

export interface YamlSource {
  /** The document as plain data (undefined when it could not be parsed). */
  data: unknown;
  /** Syntax errors: line and a message without any quoted source text. */
  errors: { line?: number; message: string }[];
  /** Line of the deepest node on `path` that exists (its key's line for map entries). */
  lineOf(path: FieldPath): number | undefined;
}

/** How many copies of anchored values aliases may make in one document (a "billion laughs" guard). */
const MAX_ALIAS_COUNT = 100;

export function readYaml(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);

  // The parser's messages quote the surrounding source, which may hold an inline
  // secret: keep only the first clause. Warnings (an unknown tag such as `!foo`, an
  // unknown directive, an ambiguous `*alias:`) are errors too: the parser would
  // otherwise guess, and a guess must not decide what the firewall lets in.
  const errors = [...doc.errors, ...doc.warnings].map((e) => ({
    line: e.linePos?.[0].line ?? lineAt(e.pos[0]),
    message: `invalid YAML: ${e.message.split(/ at line \d|:\n|\n/)[0]}`,
  }));

  // Aliases: the yaml library only finds out when it builds the data, and then
  // throws a bare ReferenceError (or builds a cyclic value). Check them here, where
  // each alias's line is known.
  const anchors = new Map<string, Node>();
  let firstAliasLine: number | undefined;
  if (errors.length === 0) {
    visit(doc, {
      Node(_key, node, path) {
        if (isAlias(node)) {
          const line = lineAt(node.range?.[0]);
          firstAliasLine ??= line;
          const target = anchors.get(node.source);
          const name = anchorName(node.source);
          if (target === undefined) {
            errors.push({
              line,
              message: `invalid YAML: the alias ${name} refers to no anchor defined before it; mark the value with &${name.slice(1)} above this line, or write the value out here`,
            });
          } else if (path.includes(target)) {
            errors.push({
              line,
              message: `invalid YAML: the alias ${name} is inside the value it refers to, which would make that value contain itself; write the value out`,
            });
          }
        } else if (node.anchor !== undefined) {
          anchors.set(node.anchor, node);
        }
      },
    });
  }

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

  let data: unknown;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      // What the checks above do not catch: aliases that expand to too much data,
      // a YAML 1.1 merge key (<<) of something that is not a mapping.
      const what = e instanceof Error ? e.message : String(e);
      const message = /alias count/i.test(what)
        ? `invalid YAML: the aliases expand to more than ${MAX_ALIAS_COUNT} copies of their values; write the values out, or use fewer aliases`
        : `invalid YAML: ${what.split(/ at line \d|:\n|\n/)[0]}`;
      errors.push({ line: firstAliasLine ?? lineAt((doc.contents as Node | null)?.range?.[0]), message });
    }
  }
  return { data, errors, lineOf };
}

// An alias's name, unless it is long enough to be a pasted secret (`secret: *JBSW…`):
// messages end up in logs, and secrets of 128 bits or more take 26 base32 characters.
function anchorName(source: string): string {
  return source.length <= 20 ? `*${source}` : `*${source.slice(0, 4)}…`;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * `['users', 'alice', 'services', 0]` → `users.alice.services[0]`. A key that is not a
 * plain name (a 100,000-character key, control characters) is quoted and cut short.
 */
export function pathText(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    const key = typeof segment === 'string' && !/^[\w.@-]{1,64}$/.test(segment) ? quote(segment) : segment;
    out += typeof key === 'number' ? `[${key}]` : out === '' ? key : `.${key}`;
  }
  return out;
}
