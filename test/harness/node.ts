// How the harness starts node inside a namespace: by absolute path (PATH under
// `ip netns exec` may differ), and TypeScript sources through tsx without a build.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The node binary running the tests. */
export const NODE = process.execPath;
/** The repository root (absolute, with a trailing slash). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Absolute path of one of the harness's agent scripts (test/harness/agents/*.mjs). */
export function agentPath(name: string): string {
  return fileURLToPath(new URL(`./agents/${name}`, import.meta.url));
}

/**
 * argv that runs a TypeScript entry point from source, e.g.
 * `topo.spawn('server', nodeSourceArgv('packages/server/src/cli.ts', ['run', '--config', f]))`.
 * Workspace packages resolve to their src/ through the 'source' export condition, so no
 * build is needed. entry is relative to the repository root (or absolute).
 */
export function nodeSourceArgv(entry: string, args: readonly string[] = []): string[] {
  return [NODE, '--conditions=source', '--import', TSX_LOADER, resolve(REPO_ROOT, entry), ...args];
}
