// Fails when the relative imports of packages/*/src (and packages/*/testing, the test
// support beside it) form a cycle, and names it.
// Type-only imports count too: a cycle of types is a cycle of concepts, and the
// next value import along it would make it a load-order bug. Run by `pnpm lint`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

/** Every .ts file under dir (recursively). */
function tsFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

// `import … from './x.js'`, `export … from './x.js'`, `import './x.js'`, `import('./x.js')`.
const SPECIFIER =
  /(?:^|[\s;}])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|[\s;])import\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm;

/** Relative imports of a file, as absolute .ts paths (comments stripped first). */
function importsOf(file, known) {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const out = new Set();
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    if (known.has(target)) out.add(target);
    else if (known.has(join(target, 'index.ts'))) out.add(join(target, 'index.ts'));
  }
  return [...out];
}

/**
 * One cycle per strongly connected component of more than one file (or a file
 * importing itself): a shortest one through the component's first file, and all its files.
 */
export function findCycles(graph) {
  let index = 0;
  const stack = [];
  const onStack = new Set();
  const idx = new Map();
  const low = new Map();
  const cycles = [];
  function connect(v) {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) !== idx.get(v)) return;
    const component = new Set();
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.add(w);
    } while (w !== v);
    if (component.size > 1 || (graph.get(v) ?? []).includes(v))
      cycles.push({ cycle: cycleIn(graph, component), files: [...component].sort() });
  }
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) connect(v);
  return cycles;
}

/** A shortest path from the component's first file back to itself, inside the component. */
function cycleIn(graph, component) {
  const start = [...component].sort()[0];
  const from = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = from.get(v); p !== undefined; p = from.get(p)) path.unshift(p);
        return [...path, start];
      }
      if (!from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const packages = join(root, 'packages');
  const files = readdirSync(packages).flatMap((p) =>
    ['src', 'testing'].flatMap((dir) => {
      try {
        return tsFiles(join(packages, p, dir));
      } catch {
        return []; // a package without that folder
      }
    }),
  );
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
  const cycles = findCycles(graph);
  if (cycles.length > 0) {
    console.error(
      `import cycles in packages/* (${cycles.length}); move what both sides need into a module of its own:`,
    );
    for (const { cycle, files: members } of cycles) {
      console.error(`  ${cycle.map((f) => relative(root, f)).join('\n    → ')}`);
      if (members.length > cycle.length - 1)
        console.error(`    (files caught in cycles with these: ${members.map((f) => relative(root, f)).join(', ')})`);
    }
    process.exit(1);
  }
  console.log(`import graph of packages/*/{src,testing}: ${files.length} files, no cycles`);
}
