// docs/configuration.md, log_format: `auto` (human text on a terminal, JSON lines
// otherwise, e.g. under systemd), `text` or `json`.
import { describe, expect, it } from 'vitest';
import { formatLine, resolveLogFormat } from './log.js';

describe('log_format', () => {
  it('auto is text on a terminal and JSON lines otherwise; text and json are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('text');
    expect(resolveLogFormat('auto', false)).toBe('json');
    for (const tty of [true, false]) {
      expect(resolveLogFormat('text', tty)).toBe('text');
      expect(resolveLogFormat('json', tty)).toBe('json');
    }
  });

  it('a JSON line is one object with time, level, event, message and the fields; text is one readable line', () => {
    const now = new Date(Date.UTC(2026, 11, 5, 1, 2, 3));
    const fields = { window: 7, user: 'alice', note: 'two words', none: undefined };
    expect(JSON.parse(formatLine('json', 'info', 'rotate', 'rotated', fields, now))).toEqual({
      time: '2026-12-05T01:02:03.000Z',
      level: 'info',
      event: 'rotate',
      message: 'rotated',
      window: 7,
      user: 'alice',
      note: 'two words',
    });
    expect(formatLine('text', 'warn', 'rotate', 'rotated', fields, now)).toBe(
      '2026-12-05T01:02:03.000Z warn  rotate: rotated (window=7 user=alice note="two words")',
    );
  });
});
