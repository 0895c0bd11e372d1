// `otpknockd doctor`: looks at this host for what would keep knocks or the
// protected services from working. Reads only; changes nothing.
import type { Command } from 'commander';
import { findingsJson, formatFindings, hasProblems } from '../doctor/finding.js';
import { runDoctor } from '../doctor/gather.js';
import { DEFAULT_CONFIG, EXIT } from './common.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check this host for what would keep knocks or the protected services from working: nft and kernel features, other firewalls, the clock, sockets in the knock range, file permissions. Changes nothing.',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .option('--json', 'print the findings as JSON')
    .addHelpText(
      'after',
      `
Each finding is ok, info, WARNING or PROBLEM, with what to do about it.
Exit status: 0 without problems (warnings allowed), 1 with problems.

Examples:
  otpknockd doctor --config /etc/otpknock/otpknockd.yaml
  ip netns exec NS otpknockd doctor --json      # the checks are per network namespace`,
    )
    .action(async (opts: { config: string; json?: boolean }) => {
      const findings = await runDoctor({ configFile: opts.config });
      process.stdout.write(opts.json ? findingsJson(findings) : formatFindings(findings));
      process.exitCode = hasProblems(findings) ? EXIT.failure : EXIT.ok;
    });
}
