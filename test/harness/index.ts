// The end-to-end harness in one import: `import { describeE2E, useTopology, … } from '@otpknock/e2e-harness'`.
export { e2eGate, describeE2E, type E2eGate } from './e2e-gate.js';
export {
  createTopology,
  withTopology,
  useTopology,
  ROLES,
  type Topology,
  type Host,
  type Role,
  type NsRef,
  type SpawnOptions,
  type TopologyOptions,
} from './topology.js';
export {
  startService,
  tcpProbe,
  openHeldConnection,
  type Service,
  type ServiceConnection,
  type ProbeResult,
  type ProbeReason,
  type HeldConnection,
} from './service.js';
export {
  sendUdp,
  startUdpListener,
  type SendUdpOptions,
  type Payload,
  type Datagram,
  type UdpListener,
} from './udp.js';
export {
  nft,
  applyNft,
  listTable,
  listTables,
  listRuleset,
  listRootRuleset,
  setElements,
  setElementKeys,
  counterValue,
  renderNftValue,
  type NftFamily,
  type NftObject,
  type NftSetElement,
} from './nft.js';
export {
  run,
  runSync,
  spawnTracked,
  ExecError,
  type ExecOptions,
  type ExecResult,
  type NsProcess,
  type OutputLine,
  type WaitOptions,
} from './proc.js';
export {
  sweepStaleNamespaces,
  listNamespaces,
  namespacePids,
  NAMESPACE_PATTERN,
  deleteNamespacesSync,
  trackNamespace,
  untrackNamespace,
} from './cleanup.js';
export { NODE, REPO_ROOT, agentPath, nodeSourceArgv } from './node.js';
export { packAndInstall, packageVersion, type NpmInstall } from './npm-install.js';
export { pollUntil, type PollOptions } from './wait.js';
