// A process's CPU time and memory, read from /proc.
import { readFileSync } from 'node:fs';

/** USER_HZ, the unit of /proc/PID/stat's CPU times (100 on every Linux architecture we run on). */
const CLK_TCK = 100;

/** utime + stime of a process so far, in ms (10 ms resolution). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

export function processRssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}
