import { describe, expect, it } from 'vitest';
import { MAX_SOURCES, QUIET_MS, RECENT_PER_SOURCE, RefusalBook, banKeyOf } from './book.js';

describe('RefusalBook: bounded memory per source and in total', () => {
  it('keeps the last RECENT_PER_SOURCE packets of a source and at most MAX_SOURCES sources', () => {
    const book = new RefusalBook(() => 600_000);
    for (let i = 0; i < 100; i++) book.add('192.0.2.2', 4, { t: i, kind: 'bad', port: 10000 + i });
    for (let i = 0; i < MAX_SOURCES + 50; i++)
      book.add(`198.51.100.${i % 250}`, 4, { t: 1000 + i, kind: 'bad', port: 1 });
    for (let i = 0; i < MAX_SOURCES + 50; i++) book.add(`2001:db8::${i.toString(16)}`, 6, { t: 2000 + i, kind: 'bad' });
    const snap = book.snapshot(5000, 1);
    expect(snap.sources.length).toBeLessThanOrEqual(256);
    expect(book.source('192.0.2.2')).toBeUndefined(); // least recently seen: evicted
    const last = book.source('2001:db8::41d')!;
    expect(last.recent.length).toBe(1);
    const one = new RefusalBook(() => 1);
    for (let i = 0; i < 100; i++) one.add('192.0.2.2', 4, { t: i, kind: 'bad', port: 10000 + i });
    expect(one.source('192.0.2.2')!.recent).toHaveLength(RECENT_PER_SOURCE);
    expect(one.source('192.0.2.2')!.refused).toBe(100);
  });

  it('explains a source once it is quiet, and the ports of its last attempt only', () => {
    const book = new RefusalBook(() => 1);
    book.add('192.0.2.2', 4, { t: 0, kind: 'bad', port: 1 });
    book.explained(book.due(QUIET_MS, 10)[0]!, { cause: 'unknown', text: 'x' }, QUIET_MS);
    book.add('192.0.2.2', 4, { t: 40_000, kind: 'bad', port: 2 });
    book.add('192.0.2.2', 4, { t: 40_010, kind: 'bad', port: 3 });
    expect(book.due(40_010 + QUIET_MS - 1, 10)).toEqual([]);
    const [rec] = book.due(40_010 + QUIET_MS, 10);
    expect(RefusalBook.attemptPorts(rec!, 5_000)).toEqual([2, 3]);
    expect(RefusalBook.attemptPorts(rec!, 5)).toEqual([3]);
    book.explained(rec!, { cause: 'unknown', text: 'x' }, 40_400);
    expect(book.due(50_000, 10)).toEqual([]);
  });

  it('keys IPv6 bans by the /64 as nft prints it', () => {
    expect(banKeyOf('192.0.2.3', 4)).toBe('192.0.2.3');
    expect(banKeyOf('2001:db8:1::77', 6)).toBe('2001:db8:1::');
    expect(banKeyOf('2001:DB8:1:2:3:4:5:6', 6)).toBe('2001:db8:1:2::');
    expect(banKeyOf('2001:0:0:0:1::', 6)).toBe('2001::');
  });

  it('remembers bans, their end and whether they were lifted', () => {
    const book = new RefusalBook(() => 600_000);
    book.add('2001:db8:1::77', 6, { t: 1000, kind: 'ban' });
    expect(book.banOf('2001:db8:1::')).toMatchObject({ source: '2001:db8:1::77', untilMs: 601_000 });
    expect(book.runningBans(2000)).toHaveLength(1);
    book.lifted(book.banOf('2001:db8:1::')!, 3000);
    expect(book.runningBans(4000)).toHaveLength(0);
  });
});
