// A setup file of both vitest projects (vitest.config.ts): a test file that created or
// changed the host's otpknock paths (test/support/host-paths.ts) fails, naming the paths.
// The e2e files run one at a time, so in CI the file named is the one that did it; unit
// files run side by side, so there it is this file or one that ran beside it (and on a
// shared machine, anything else that ran meanwhile).
import { afterAll, beforeAll } from 'vitest';
import { pathChanges, pathsState, type PathsState } from './host-paths.js';

let before: PathsState;
beforeAll(() => {
  before = pathsState();
});
afterAll(() => {
  const changes = pathChanges(before, pathsState());
  if (changes.length > 0)
    throw new Error(
      `this test file (or one running beside it, or another process on this machine) changed the host's own otpknock paths:\n  ${changes.join('\n  ')}\n` +
        'give every otpknockd config a state_dir of its own (writeConfig in test/support/otpknockd.ts does), ' +
        'and knock a --config or an XDG_CONFIG_HOME/XDG_STATE_HOME of its own',
    );
});
