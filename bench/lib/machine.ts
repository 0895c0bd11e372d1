// What the figures were measured on: printed above every bench table.
import { readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { spawnSync } from 'node:child_process';

export interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  kernel: string;
  nft: string;
  node: string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function nftVersion(): string {
  const r = spawnSync('nft', ['--version'], { encoding: 'utf8', timeout: 5_000 });
  return r.status === 0 ? r.stdout.trim() : 'nft not found';
}

export function machineInfo(): Machine {
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpuModel(),
    kernel: release(),
    nft: nftVersion(),
    node: process.version,
  };
}

export function machineLine(m: Machine): string {
  return `${m.date} · ${m.nproc} × ${m.cpu} · Linux ${m.kernel} · ${m.nft} · node ${m.node}`;
}
