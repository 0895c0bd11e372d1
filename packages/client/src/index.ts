// The client as a library, for the end-to-end tests and benchmarks: the same pieces the
// `knock` CLI (cli.ts) is made of.
export { EXIT, KnockError, describeError, type ExitCode } from './errors.js';
export { chooseKnockWindow, ASSUMED_SKEW, type WindowChoice } from './window.js';
export {
  planKnock,
  knockOpen,
  knockClose,
  rotates,
  type KnockPlan,
  type OpenRequest,
  type OpenResult,
  type CloseRequest,
} from './knock.js';
export { sendKnock, type KnockSend, type KnockSent } from './send.js';
export { connectWithin, waitForService, type WaitOptions } from './wait.js';
export { spliceConnection, type PipeResult } from './proxy.js';
export {
  findProfile,
  parseSshG,
  resolveAddresses,
  sshConfigLookup,
  type AddressLookup,
  type Family,
  type ProfileMatch,
  type ResolvedAddress,
  type SshConfigLookup,
  type SshTarget,
} from './resolve.js';
export {
  checkProfile,
  parseStore,
  publicView,
  type ClientProfile,
  type PayloadSetting,
  type StoreData,
} from './profile.js';
export { defaultStorePath, readStore, storePath, updateStore } from './store.js';
export { usedWindowsPath } from './used.js';
export { knockPayloads } from './payload.js';
export { printedSequences, type PrintedSequences } from './commands.js';
export { profileFromAdd, profileFromImport } from './manage.js';
export { createLogger, silentLogger, type Logger } from './log.js';
// The command tree without parsing: for the man page and shell completion generators.
export { buildProgram, VERSION } from './program.js';
