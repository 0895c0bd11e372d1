// The fleet directory around a running daemon: its first read before the daemon
// starts (bounded by fleet.timeout), then the watch whose changes the daemon applies.
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { readFleetCache } from './cache.js';
import { directoryClient } from './connect.js';
import { FleetSync } from './sync.js';

export interface FleetAttachment {
  /** Starts watching; `apply` is called after every change of the users. */
  run(apply: () => void): void;
  stop(): void;
}

/** Reads the directory once (a failure is logged: the users kept in fleet.json stay) and returns the watcher. */
export async function startFleet(config: ServerConfig, log: Logger): Promise<FleetAttachment> {
  const fleet = config.fleet!;
  const server = fleet.server!;
  const etcd = await directoryClient(fleet);
  const kept = await readFleetCache(config.stateDir, process.getuid?.() ?? 0, (m) => log.warn('fleet', m));
  let apply = () => undefined as void;
  const sync = new FleetSync({
    fleet: { ...fleet, server },
    stateDir: config.stateDir,
    etcd,
    log,
    onUsersChanged: () => apply(),
    ...(kept !== undefined && kept.fleet === fleet.name && kept.server === server ? { initial: kept } : {}),
  });
  if (await sync.refresh()) log.info('fleet', `directory read: fleet ${fleet.name}, server ${server}`);
  return {
    run(fn) {
      apply = fn;
      sync.start();
    },
    stop: () => sync.stop(),
  };
}
