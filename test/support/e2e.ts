// What an end-to-end test file imports, in one place: the harness (namespaces, processes,
// nft readers) and the support built on it: otpknockd (configs, the daemon fixture) and knock.
export * from '@otpknock/e2e-harness';
export * from './otpknockd.js';
export * from './knock.js';
