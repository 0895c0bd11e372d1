// What every section parser of the config works with: the document, its file, the
// caller's options and the one issue reporter they all report into.
import type { FileInfo } from './secret-file.js';
import type { StoreListing } from '../users/store.js';
import type { ServerUserRecord } from '../fleet/directory.js';
import type { IssueReporter } from '../yaml/issues.js';

export interface ParseConfigOptions {
  /**
   * Metadata and text of a secret file, by absolute path. Throws an errno-style
   * error (`{ code: 'ENOENT' }`) when the file cannot be opened.
   */
  readSecretFile: (absolutePath: string) => FileInfo;
  /** uid the daemon runs as: secret files may belong to it or to root. Default 0. */
  daemonUid?: number;
  /** Permissions of the config file itself, when known: inline secrets need it private. */
  configFile?: Pick<FileInfo, 'mode' | 'uid'>;
  /** The user store's record files, read by the loader when the config sets `user_store`. */
  userStore?: StoreListing;
  /** The users this server last read from its fleet directory (state_dir/fleet.json), when it has `fleet`. */
  fleetRecords?: readonly ServerUserRecord[];
  /**
   * The directory confirmed this server's users at least once (fleet.json has a
   * confirmed read): with `fleet`, no user at all is then what the directory says
   * (the last person revoked), not a directory never read.
   */
  fleetConfirmed?: boolean;
  /** Accept a config without any user (the `otpknockd user` commands, before the first `user add`). */
  allowNoUsers?: boolean;
  /**
   * Parse no user at all (`users:`, the store, the fleet's): for the commands that act on
   * the table by its services alone (open, close, mode), so that a broken user record or
   * secret file never keeps an operator from the way back in. The config has no users.
   */
  withoutUsers?: boolean;
  /** Unix ms to judge rotation grace periods against. Default: now. */
  nowMs?: number;
  /**
   * The directory relative paths (secret_file, user_store) resolve against. Default:
   * the file's own. `apply` gives the live config's: the file will be installed there.
   */
  baseDir?: string;
}

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ParseContext {
  /** Absolute path of the config file. */
  file: string;
  /** Its directory: relative paths in it (secret_file, user_store) are relative to it. */
  dir: string;
  /** The document's top-level mapping. */
  data: Mapping;
  options: ParseConfigOptions;
  daemonUid: number;
  report: IssueReporter;
}
