import { describe, expect, it } from 'vitest';
import { SerialQueue } from './serial-queue.js';

describe('SerialQueue', () => {
  it('runs jobs one after another, and a failed job does not stop the next', async () => {
    const q = new SerialQueue();
    const order: string[] = [];
    const slow = q.run(async () => {
      order.push('a start');
      await new Promise((r) => setTimeout(r, 20));
      order.push('a end');
    });
    const failing = q.run(async () => {
      order.push('b');
      throw new Error('nft failed');
    });
    const after = q.run(async () => void order.push('c'));
    await slow;
    await expect(failing).rejects.toThrow('nft failed');
    await after;
    await q.idle();
    expect(order).toEqual(['a start', 'a end', 'b', 'c']);
  });
});
