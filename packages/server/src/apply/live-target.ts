// A new config file is meant for the running daemon: `apply` installs it over the live
// file, and `check` of a copy is asked about it. Its relative paths (secret_file,
// user_store) must then resolve where the live file is, not where the copy was edited
// (/root), and the users whose profiles the change breaks are named.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULTS, TABLE_NAME } from '../config/schema.js';
import { loadConfig } from '../config/index.js';
import type { ServerConfig } from '../config/types.js';
import { profileChanges, type ProfileChange } from '../users/profile-changes.js';
import { runningDaemon, type DaemonState } from './daemon-state.js';

/**
 * The state dir a config file names, read loosely (no validation, no secrets),
 * so that confirm and revert work even when the live config is the broken one.
 */
export async function stateDirOf(configFile: string): Promise<string> {
  return (await looseSettingsOf(configFile)).stateDir;
}

/**
 * The state dir and the table a config file names, read loosely the same way (the
 * defaults where it names none or cannot be read), so that `status` can report on
 * the running daemon while its config file is the broken one.
 */
export async function looseSettingsOf(configFile: string): Promise<{ stateDir: string; table: string }> {
  let found: { stateDir?: string; table?: string } = {};
  try {
    found = looseSettingsInText(await readFile(configFile, 'utf8'));
  } catch {
    // unreadable: the defaults
  }
  return { stateDir: found.stateDir ?? DEFAULTS.stateDir, table: found.table ?? DEFAULTS.table };
}

/**
 * The absolute `state_dir` and the `table` a config text names: from the YAML when it
 * parses, else from their top-level `key: value` lines (a file broken elsewhere still
 * names them).
 */
export function looseSettingsInText(text: string): { stateDir?: string; table?: string } {
  let data: { state_dir?: unknown; table?: unknown } | null;
  try {
    data = parseYaml(text) as typeof data;
  } catch {
    const line = (key: string) =>
      new RegExp(`^${key}:[ \\t]*(["']?)([^"'#\\r\\n]*?)\\1[ \\t]*(?:#.*)?$`, 'm').exec(text)?.[2];
    data = { state_dir: line('state_dir'), table: line('table') };
  }
  const out: { stateDir?: string; table?: string } = {};
  if (typeof data?.state_dir === 'string' && data.state_dir.startsWith('/')) out.stateDir = data.state_dir;
  if (typeof data?.table === 'string' && TABLE_NAME.test(data.table)) out.table = data.table;
  return out;
}

export interface LiveTarget {
  /** The new file, validated as it will be at the live file's place. */
  config: ServerConfig;
  /** The running daemon of the file's state_dir, if any. */
  daemon?: DaemonState;
  /** Set when relative paths resolved against the live file's directory instead of the file's own. */
  baseDir?: string;
  /** Users whose knock profile the new file changes (compared with the live file; empty without one). */
  changes: ProfileChange[];
}

/** Validates `file` for the daemon that runs with its state_dir (throws the ConfigError of a bad file). */
export async function loadForLive(file: string): Promise<LiveTarget> {
  const abs = resolve(file);
  const daemon = await runningDaemon(await stateDirOf(abs));
  const liveDir = daemon === undefined ? undefined : dirname(daemon.config);
  const baseDir = liveDir !== undefined && liveDir !== dirname(abs) ? liveDir : undefined;
  const config = await loadConfig(abs, baseDir === undefined ? {} : { baseDir });
  let changes: ProfileChange[] = [];
  if (daemon !== undefined && daemon.config !== abs) {
    // The live file as the daemon reads it; when it cannot be read, nothing to compare.
    const live = await loadConfig(daemon.config, { allowNoUsers: true }).catch(() => undefined);
    if (live !== undefined) changes = profileChanges(live, config);
  }
  return {
    config,
    ...(daemon === undefined ? {} : { daemon }),
    ...(baseDir === undefined ? {} : { baseDir }),
    changes,
  };
}
