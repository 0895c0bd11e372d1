// The global mode: `knock` (normal), `open` (maintenance: the protected
// services are open to everybody) or `closed` (closed to everybody, valid
// knocks ignored too). It lives in the `mode` chain of our table, which the
// input chain jumps to after `ct state established,related accept`, so no mode
// ever cuts a live connection. The mode is kept in STATE_DIR/mode, so a
// reload or a restart renders the same chain; `otpknockd mode` changes the
// file and the live chain.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtpknockError } from '@otpknock/shared';
import { writeFileAtomicSync } from '@otpknock/shared/safe-file';
import type { ServerConfig } from './config/types.js';

export const MODES = ['knock', 'open', 'closed'] as const;
export type ServiceMode = (typeof MODES)[number];

export const MODE_DESCRIPTIONS: Record<ServiceMode, string> = {
  knock: 'normal: the protected services open to valid knocks',
  open: 'maintenance: the protected services are open to everybody, no knock needed',
  closed:
    'maintenance: the protected services are closed to everybody and valid knocks are ignored; established connections stay up',
};

export function isMode(value: string): value is ServiceMode {
  return (MODES as readonly string[]).includes(value);
}

/** Where the mode is kept. */
export function modeFile(stateDir: string): string {
  return join(stateDir, 'mode');
}

/**
 * The persisted mode (for `status` and every full load). `knock` when the
 * file does not exist; an unreadable or garbled file is an error naming it.
 */
export function readMode(stateDir: string): ServiceMode {
  const file = modeFile(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'knock';
    throw new OtpknockError('E_STATE', `cannot read the mode file ${file}: ${(err as Error).message}`, {
      hint: 'check its permissions, or set the mode again with "otpknockd mode knock|open|closed"',
    });
  }
  const mode = text.trim();
  if (!isMode(mode)) {
    throw new OtpknockError(
      'E_STATE',
      `the mode file ${file} holds ${JSON.stringify(mode.slice(0, 20))}, not one of ${MODES.join(', ')}`,
      {
        hint: 'set the mode again with "otpknockd mode knock|open|closed"',
      },
    );
  }
  return mode;
}

/**
 * Persists the mode: the state dir is created 0700, the file replaced atomically and
 * durably (0600): a maintenance mode must survive a power cut as it survives a reboot.
 */
export function writeMode(stateDir: string, mode: ServiceMode): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(modeFile(stateDir), `${mode}\n`);
}

/** The rules of the `mode` chain for a mode (none in knock mode). */
export function modeRules(config: ServerConfig, mode: ServiceMode): string[] {
  const ports = `{ ${config.services.map((s) => s.port).join(', ')} }`;
  switch (mode) {
    case 'knock':
      return [];
    case 'open':
      return [`tcp dport ${ports} counter name mode_accepted accept`];
    case 'closed':
      return ['udp dport @knock_ports drop', `tcp dport ${ports} counter name mode_refused drop`];
  }
}

/** The chain as part of a full table. */
export function modeChainText(config: ServerConfig, mode: ServiceMode): string {
  const rules = modeRules(config, mode)
    .map((r) => `\t\t${r}\n`)
    .join('');
  return `
	counter mode_accepted {
	}

	counter mode_refused {
	}

	chain mode {
${rules}	}
`;
}

/** Switches the live table's mode: one transaction that rewrites the chain. */
export function modeChangeScript(config: ServerConfig, mode: ServiceMode): string {
  const t = config.table;
  return (
    [`flush chain inet ${t} mode`, ...modeRules(config, mode).map((r) => `add rule inet ${t} mode ${r}`)].join('\n') +
    '\n'
  );
}
