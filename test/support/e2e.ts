// What an end-to-end test file imports, in one place: the harness (namespaces, processes,
// nft readers) and the otpknockd support built on it (configs, the daemon fixture).
export * from '@otpknock/e2e-harness';
export * from './otpknockd.js';
