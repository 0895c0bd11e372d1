// Real abstract unix sockets: the lock as the kernel keeps it.
import { describe, expect, it } from 'vitest';
import { TableLocks, tableHolder } from './table-lock.js';

const unique = () => `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;

describe('TableLocks', () => {
  it('lets one holder have a table; a second is refused with who holds it, until it is released', async () => {
    const table = unique();
    const first = new TableLocks({ pid: 4242, config: '/etc/otpknock/a.yaml' });
    const second = new TableLocks({ pid: 4343 });
    await first.hold(table);
    await first.hold(table); // again: a no-op for its holder
    expect(await tableHolder(table)).toEqual({ pid: 4242, config: '/etc/otpknock/a.yaml' });
    await expect(second.hold(table)).rejects.toThrow(
      `otpknockd is already running as pid 4242 (config /etc/otpknock/a.yaml) for table inet ${table}; nothing was changed`,
    );
    first.release(table);
    await new Promise((r) => setTimeout(r, 10));
    await second.hold(table);
    expect(await tableHolder(table)).toEqual({ pid: 4343 });
    second.releaseAll();
  });

  it('keeps tables apart: another table is free', async () => {
    const a = new TableLocks();
    const b = new TableLocks();
    const [ta, tb] = [unique(), unique()];
    await a.hold(ta);
    await b.hold(tb);
    expect(await tableHolder(ta)).toEqual({ pid: process.pid });
    a.releaseAll();
    b.releaseAll();
  });

  it('finds nobody on a table no one holds', async () => {
    expect(await tableHolder(unique())).toBeUndefined();
  });
});
