// The I/O edge of configuration: read the config file, the secret files it names
// and the user store, then hand everything to the pure parseConfig.
import { dirname, resolve } from 'node:path';
import { PATH_MAX, SECRET_FILE_MAX_BYTES, shownPath } from '@otpknock/shared';
import { readFileInfo, type FileInfo } from '@otpknock/shared/safe-file';
import { ConfigError } from './errors.js';
import { fleetCacheOf, parseConfig, secretFilePaths, userStorePath } from './parse.js';
import { readFleetCache } from '../fleet/cache.js';
import { readStoreDir } from '../users/store.js';
import type { ServerConfig } from './types.js';

/** A config file larger than this is not a config file. */
const CONFIG_FILE_MAX_BYTES = 4 * 1024 * 1024;

export interface LoadConfigOptions {
  /**
   * Reads a file's metadata and, for a regular file within `maxBytes`, its text.
   * Default: `readFileInfo` (the real filesystem). Tests may stub it.
   */
  readFile?: (path: string, maxBytes: number) => Promise<FileInfo>;
  /** uid the daemon runs as: secret files may belong to it or to root. Default: the process's uid. */
  daemonUid?: number;
  /** Accept a config without users (the `otpknockd user` commands before the first `user add`). */
  allowNoUsers?: boolean;
  /** Resolve relative paths against this directory instead of the file's (`apply`: the live config's). */
  baseDir?: string;
  /** Read no user, secret file, user store or fleet cache (ParseConfigOptions.withoutUsers). */
  withoutUsers?: boolean;
}

/**
 * Reads and validates a config file and its secret files. Resolves only when
 * everything is valid; otherwise rejects with one ConfigError listing every problem.
 */
export async function loadConfig(file: string, opts: LoadConfigOptions = {}): Promise<ServerConfig> {
  const abs = resolve(file);
  const readFile = opts.readFile ?? readFileInfo;
  const daemonUid = opts.daemonUid ?? process.getuid?.() ?? 0;
  const baseDir = opts.baseDir === undefined ? dirname(abs) : resolve(opts.baseDir);

  if (abs.length > PATH_MAX) {
    const shown = shownPath(abs);
    throw new ConfigError(shown, [
      {
        file: shown,
        path: '',
        message: `cannot read the configuration file: a path has at most ${PATH_MAX} characters`,
      },
    ]);
  }
  let config: FileInfo;
  try {
    config = await readFile(abs, CONFIG_FILE_MAX_BYTES);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : String(code ?? e);
    throw new ConfigError(abs, [{ file: abs, path: '', message: `cannot read the configuration file: ${why}` }]);
  }
  if (config.type !== 'file' || config.text === undefined) {
    const why =
      config.type === 'file' ? `it is larger than ${CONFIG_FILE_MAX_BYTES} bytes` : 'it is not a regular file';
    throw new ConfigError(abs, [{ file: abs, path: '', message: `cannot use the configuration file: ${why}` }]);
  }

  if (opts.withoutUsers) {
    return parseConfig(config.text, abs, {
      daemonUid,
      withoutUsers: true,
      ...(opts.baseDir === undefined ? {} : { baseDir }),
      configFile: { mode: config.mode, uid: config.uid },
      readSecretFile: (path) => {
        throw new Error(`${path}: no secret file is read without users`);
      },
    });
  }

  // Read every secret file up front so that parseConfig stays synchronous and pure.
  const secrets = new Map<string, { info: FileInfo } | { error: unknown }>();
  await Promise.all(
    secretFilePaths(config.text, abs, baseDir).map(async (path) => {
      try {
        secrets.set(path, { info: await readFile(path, SECRET_FILE_MAX_BYTES) });
      } catch (error) {
        secrets.set(path, { error });
      }
    }),
  );

  const storeDir = userStorePath(config.text, abs, baseDir);
  const userStore = storeDir === undefined ? undefined : await readStoreDir(storeDir);
  // The fleet's users as this server last read them (fleet/sync.ts keeps the file).
  // Keys of another fleet or server name (the config changed) are of no use here.
  const fleetAt = fleetCacheOf(config.text);
  const cached = fleetAt === undefined ? undefined : await readFleetCache(fleetAt.stateDir, daemonUid);
  const fleetCache = cached?.fleet === fleetAt?.fleet && cached?.server === fleetAt?.server ? cached : undefined;

  return parseConfig(config.text, abs, {
    daemonUid,
    ...(userStore === undefined ? {} : { userStore }),
    ...(fleetCache === undefined ? {} : { fleetRecords: fleetCache.users }),
    ...(fleetCache?.confirmedAt === undefined ? {} : { fleetConfirmed: true }),
    ...(opts.allowNoUsers ? { allowNoUsers: true } : {}),
    ...(opts.baseDir === undefined ? {} : { baseDir }),
    configFile: { mode: config.mode, uid: config.uid },
    readSecretFile(path) {
      const got = secrets.get(path);
      if (got === undefined) throw Object.assign(new Error(`${path} was not read`), { code: 'ENOENT' });
      if ('error' in got) throw got.error;
      return got.info;
    },
  });
}
