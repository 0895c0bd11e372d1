import { defineConfig } from 'vitest/config';

// Two projects: fast pure unit tests next to the code, and end-to-end tests that
// drive the real binaries and real nftables inside network namespaces.
// Workspace packages export their TypeScript sources under the "source"
// condition, so tests need no build step.
// Every test file, unit and e2e, fails when it created or changed the host's own otpknock
// paths (/var/lib/otpknock, /etc/otpknock, …): test/support/host-paths-guard.ts.
const setupFiles = ['./test/support/host-paths-guard.ts'];

const resolveSource = {
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'], externalConditions: ['source'] } },
};

export default defineConfig({
  ...resolveSource,
  test: {
    projects: [
      {
        ...resolveSource,
        test: {
          name: 'unit',
          // scripts/: the generators of the man pages and shell completions, and their drift tests;
          // bench/lib: the benches' pure helpers.
          include: ['packages/*/src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/lib/**/*.test.ts'],
          environment: 'node',
          setupFiles,
          // Some unit tests run a CLI (a Node start each): seconds on a loaded 2-core machine.
          testTimeout: 20_000,
        },
      },
      {
        ...resolveSource,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          setupFiles,
          // Namespaces are cheap but timing-sensitive: run files one after another.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
