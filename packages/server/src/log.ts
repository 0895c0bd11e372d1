// One line per event: human text on a terminal, JSON lines otherwise (journald
// and log shippers read those). Secrets never reach here: callers pass names.
import type { LogFormat } from './config/types.js';

export type Level = 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(event: string, message: string, fields?: Fields): void;
  warn(event: string, message: string, fields?: Fields): void;
  error(event: string, message: string, fields?: Fields): void;
}

export function resolveLogFormat(format: LogFormat, isTty: boolean): 'text' | 'json' {
  if (format === 'auto') return isTty ? 'text' : 'json';
  return format;
}

export function formatLine(
  format: 'text' | 'json',
  level: Level,
  event: string,
  message: string,
  fields: Fields,
  now: Date,
): string {
  const defined = Object.entries(fields).filter(([, v]) => v !== undefined);
  if (format === 'json') {
    return JSON.stringify({ time: now.toISOString(), level, event, message, ...Object.fromEntries(defined) });
  }
  const extra = defined
    .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${now.toISOString()} ${level.padEnd(5)} ${event}: ${message}${extra ? ` (${extra})` : ''}`;
}

export function createLogger(
  format: 'text' | 'json',
  write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Logger {
  const emit =
    (level: Level) =>
    (event: string, message: string, fields: Fields = {}) =>
      write(formatLine(format, level, event, message, fields, new Date()));
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
