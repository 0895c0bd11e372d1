// otpknockd as a library, for the benchmarks and end-to-end tests: the pieces the
// `otpknockd` CLI (cli.ts) is made of, in the order of the pipeline:
// config → plan → trie → ruleset → nft → daemon. Only re-exports: where a piece lives
// is its module's business (import it from here, by package name).
export {
  ConfigError,
  DEFAULTS,
  LIMITS,
  formatDuration,
  formatIssue,
  loadConfig,
  parseConfig,
  parseDuration,
  type ConfigIssue,
  type LoadConfigOptions,
  type LogFormat,
  type ParseConfigOptions,
  type ServerConfig,
  type ServiceConfig,
  type UserConfig,
} from './config/index.js';
export {
  cachedDeriver,
  nextRotationMs,
  planEntries,
  validWindows,
  type KnockAction,
  type KnockEntry,
} from './plan/entries.js';
export { isLeaf } from './trie/layout.js';
export {
  allElements,
  emptyTrie,
  type LeafActionElement,
  type StepElement,
  type TrieChanges,
  type TrieState,
} from './trie/state.js';
export { syncTrie, type TrieSync } from './trie/sync.js';
export {
  changeOps,
  renderChanges,
  renderRuleset,
  type AllowedCarryOver,
  type ChangeOptions,
  type RulesetInput,
} from './ruleset/render.js';
export { knockPortIntervals } from './nft/knock-ports.js';
export { NftDriver, NftError, execaNftRunner, type NftRunner } from './nft/driver.js';
export { probeTimeoutUpdates } from './nft/timeout-update.js';
export { fullRuleset, tableShape, usedTimeoutMs, type CarryOver } from './ruleset/full-load.js';
export { APPLY_LEAD_MS, PREPARE_LEAD_MS } from './daemon/schedule.js';
export { systemClock, type Clock } from './daemon/clock.js';
export { ConsumedSequences } from './daemon/consumed.js';
export { Daemon, type DaemonHooks, type DaemonOptions } from './daemon/daemon.js';
export { createLogger, type Logger } from './log.js';
// The command tree without parsing: for the man page and shell completion generators.
export { buildProgram, VERSION } from './program.js';
export { MODES } from './mode.js';
// The fleet directory (docs/fleet.md): for the propagation bench's simulated servers.
export { EtcdClient, EtcdError, type EtcdOptions } from './fleet/etcd.js';
export { FleetAdmin } from './fleet/admin.js';
export { FleetSync, type FleetSyncOptions } from './fleet/sync.js';
export { hostKey, serverUsersPrefix } from './fleet/directory.js';
