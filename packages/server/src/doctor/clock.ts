// Is the clock synchronised? Knock windows are 30 s by default and a client and
// a server whose clocks differ by more than the skew never agree on a sequence.
// Pure: the evidence is gathered at the edge (doctor/gather.ts).
import { finding, type Finding } from './finding.js';

export interface ClockEvidence {
  /** /run/systemd/timesync/synchronized exists (systemd-timesyncd has synchronised since boot). */
  timesyncdFlag?: boolean;
  /** `timedatectl show -p NTPSynchronized --value`: "yes"/"no", or why it could not be asked. */
  timedatectl?: { value: string } | { error: string };
  /** `chronyc -n tracking`: its output, or why it could not be asked. */
  chronyc?: { output: string } | { error: string };
}

/** The leap status line of `chronyc tracking`: "Normal" means synchronised. */
export function chronyLeapStatus(output: string): string | undefined {
  return /^Leap status\s*:\s*(.+)$/m.exec(output)?.[1]?.trim();
}

export function clockFinding(e: ClockEvidence, toleranceText: string): Finding {
  const why = `knock sequences change every window (${toleranceText}); a server clock that is off by more than that refuses every valid knock`;
  if (e.chronyc && 'output' in e.chronyc) {
    const leap = chronyLeapStatus(e.chronyc.output);
    if (leap === 'Normal') return finding('clock', 'ok', 'synchronised (chrony: leap status Normal)');
    if (leap !== undefined)
      return finding(
        'clock',
        'problem',
        `not synchronised (chrony: leap status ${leap}); ${why}`,
        'check chronyc sources; make sure an NTP server is reachable',
      );
  }
  if (e.timedatectl && 'value' in e.timedatectl) {
    const v = e.timedatectl.value.trim();
    if (v === 'yes') return finding('clock', 'ok', 'synchronised (timedatectl: NTPSynchronized=yes)');
    if (v === 'no') {
      return finding(
        'clock',
        'problem',
        `not synchronised (timedatectl: NTPSynchronized=no); ${why}`,
        'timedatectl set-ntp true, and check that an NTP server is reachable (timedatectl timesync-status)',
      );
    }
  }
  if (e.timesyncdFlag) return finding('clock', 'ok', 'synchronised (/run/systemd/timesync/synchronized exists)');
  const tried: string[] = [];
  if (e.chronyc && 'error' in e.chronyc) tried.push(`chronyc: ${e.chronyc.error}`);
  if (e.timedatectl && 'error' in e.timedatectl) tried.push(`timedatectl: ${e.timedatectl.error}`);
  if (!e.timesyncdFlag) tried.push('no /run/systemd/timesync/synchronized');
  return finding(
    'clock',
    'warning',
    `synchronisation unknown (${tried.join('; ')}); ${why}`,
    'run an NTP client (systemd-timesyncd, chrony or ntpd), and configure a break_glass sequence for when the clock is wrong',
  );
}
