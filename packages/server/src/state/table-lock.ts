// One daemon per table. The lock is an abstract unix socket named after the
// table: abstract names live in the network namespace, exactly where an nft
// table lives, so daemons in other namespaces are not in the way; the kernel
// frees the name when its holder dies (even by SIGKILL), so a lock is never
// stale and two starters cannot both take it. A second daemon connects to it
// and learns who holds the table.
import { createConnection, createServer, type Server } from 'node:net';
import { OtpknockError } from '@otpknock/shared';

/** Who holds a table, as the holder tells a second daemon. */
export interface TableHolder {
  pid: number;
  config?: string;
}

export const lockName = (table: string): string => `\0otpknockd/inet/${table}`;

/** Asks the holder of `table` who it is; undefined when nobody holds it or it does not answer. */
export function tableHolder(table: string, timeoutMs = 1_000): Promise<TableHolder | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(lockName(table));
    const done = (v: TableHolder | undefined) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('data', (b: Buffer) => (text = (text + b.toString()).slice(0, 4096)));
    socket.on('error', () => done(undefined));
    socket.on('end', () => {
      try {
        const v = JSON.parse(text) as TableHolder;
        done(typeof v.pid === 'number' ? v : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}

/** The locks one daemon holds (one, or two while a reload moves to another table). */
export class TableLocks {
  private readonly held = new Map<string, Server>();

  constructor(private readonly who: TableHolder = { pid: process.pid }) {}

  /** Takes the lock of `table` (a no-op when we hold it); refuses when another daemon does. */
  async hold(table: string): Promise<void> {
    if (this.held.has(table)) return;
    const server = createServer((socket) => socket.end(JSON.stringify(this.who)));
    const taken = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(false) : reject(e)));
      server.listen(lockName(table), () => resolve(true));
    });
    if (!taken) {
      const holder = await tableHolder(table);
      const who =
        holder === undefined
          ? 'another process'
          : `pid ${holder.pid}${holder.config === undefined ? '' : ` (config ${holder.config})`}`;
      throw new OtpknockError(
        'E_ALREADY_RUNNING',
        `otpknockd is already running as ${who} for table inet ${table}; nothing was changed`,
        {
          hint: 'one daemon per table: use that one (systemctl reload otpknockd, otpknockd apply), stop it first, or give this config another "table:"',
        },
      );
    }
    server.unref(); // the lock must not keep the process alive
    this.held.set(table, server);
  }

  release(table: string): void {
    this.held.get(table)?.close();
    this.held.delete(table);
  }

  releaseAll(): void {
    for (const table of [...this.held.keys()]) this.release(table);
  }
}
