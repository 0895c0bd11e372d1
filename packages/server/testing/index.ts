// Test support, for this package's tests and the benchmarks (not part of the CLI):
// hand-built configs without files, a clock that moves when told, a logger that keeps
// its lines, temporary user stores. Imported by name as '@otpknock/server/testing'.
export { gatewayServices, serverConfig, timeProfile, user } from './fixtures.js';
export { FakeClock, memoryLogger } from './daemon.js';
export { storeConfigFile, storedUser, tempDirs } from './user-store.js';
