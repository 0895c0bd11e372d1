// The README transcript's patterns (no root needed): what test/demo.e2e.test.ts compares the demo's output with.
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@otpknock/e2e-harness';
import { docBlock } from './support/doc-blocks.js';
import { firstMissing, linePattern, transcriptLines } from './support/demo-transcript.js';

describe('linePattern', () => {
  it('lets the temp dir, "…/", times, long numbers and dotted numbers vary', () => {
    const p = (readme: string, out: string) => expect(linePattern(readme).test(out), `${readme}\n${out}`).toBe(true);
    p(
      '   client$ ssh -F …/ssh_config demo-server',
      '   client$ ssh -F /tmp/otpknock-demo.lx3T1u/ssh_config demo-server',
    );
    p('   $ x /tmp/otpknock-demo.wwdaMS/id', '   $ x /tmp/otpknock-demo.Ab12Cd/id');
    p(
      '   | window  59855236, valid 2026-11-26T01:38:00Z – 2026-11-26T01:38:30Z',
      '   | window  59881117, valid 2026-12-05T01:18:30Z – 2026-12-05T01:19:00Z',
    );
    p(
      '   | knock: demo-server (192.0.2.1) port 22 open (0.02 s)',
      '   | knock: demo-server (192.0.2.1) port 22 open (1.25 s)',
    );
    p('   | Linux 6.18.44', '   | Linux 6.1.0-27-amd64');
    p('   | ok: logged in as root, session pid 23708', '   | ok: logged in as root, session pid 4242');
    p('processes 23581 23655 stopped, okdemo23467-server', 'processes 2280 2416 stopped, okdemo1822-server');
  });
  it('keeps addresses, small numbers and the words as written, and matches whole lines', () => {
    const q = (readme: string, out: string) => expect(linePattern(readme).test(out), `${readme}\n${out}`).toBe(false);
    q(
      '   | knock: demo-server (192.0.2.1) port 22 open (0.02 s)',
      '   | knock: demo-server (192.0.2.1) port 2222 open (0.02 s)',
    );
    q(
      '   | knock: demo-server (192.0.2.1) port 22 open (0.02 s)',
      '   | knock: demo-server (192.0.2.9) port 22 open (0.02 s)',
    );
    q('== 7. Without a knock', '== 8. Without a knock');
    q(
      '   ✓ no connection after 3014 ms (ConnectTimeout 3 s)',
      '   ✓ no connection after 3014 ms (ConnectTimeout 30 s)',
    );
    q('   | ok: logged in as root', '   | ok: logged in as root, and more');
    q('   client$ ssh -F …/ssh_config x', '   client$ ssh -F /home/ssh_config x');
  });
});

describe('the README transcript', () => {
  const block = docBlock(REPO_ROOT, 'README.md', 'readme-demo-transcript');
  const lines = transcriptLines(block.text, block.line + 1);
  it('shows the steps the demo test relies on', () => {
    const shows = (re: RegExp) =>
      expect(
        lines.some((l) => re.test(l.text)),
        `README.md transcript: ${re}`,
      ).toBe(true);
    shows(/port 22: Connection timed out/);
    shows(/\| open +udp \d+ \d+ \d+$/);
    shows(/\| ok: logged in as root/);
    shows(/knock: sent the close sequence to demo-server/);
    shows(/port 22 open \(/);
    shows(/^Cleaned up: processes/);
  });
  it('in order: a line out of order or missing is named with its README line', () => {
    // The README's own lines, "…/" written out, as the demo prints them.
    const printed = lines.map((l) => l.text.replaceAll('…/', '/tmp/otpknock-demo.abcDEF/'));
    expect(firstMissing(lines, ['extra', ...printed, 'extra'].join('\n'))).toBeUndefined();
    const swapped = [printed[1], printed[0], ...printed.slice(2)].join('\n');
    expect(firstMissing(lines, swapped)?.missing.line).toBe(lines[1]!.line);
  });
});
