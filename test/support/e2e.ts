// What an end-to-end test file imports, in one place: the harness (namespaces, processes,
// nft readers) and the support built on it: otpknockd (configs, the daemon fixture), knock, and
// windows (placing a step away from a window boundary).
export * from '@otpknock/e2e-harness';
export * from './otpknockd.js';
export * from './knock.js';
export * from './windows.js';
