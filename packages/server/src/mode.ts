// The global mode: `knock` (normal), `open` (maintenance: the protected
// services are open to everybody) or `closed` (closed to everybody, valid
// knocks ignored too). It lives in the `mode` chain of our table, which the
// input chain jumps to after `ct state established,related accept`, so no mode
// ever cuts a live connection. The mode is kept in STATE_DIR/mode, so a
// reload or a restart renders the same chain; `otpknockd mode` changes the
// file and the live chain. Forwarded services (gateway mode) have a chain of
// their own, `mode_forward`, which only their guards jump to: the mode matches
// them by being there, not by a port (a forwarded packet's port is the backend's).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OtpknockError } from '@otpknock/shared';
import { writeFileAtomicSync } from '@otpknock/shared/safe-file';
import type { ServerConfig } from './config/types.js';
import { CLOSED_PREFIX, refusalLogStatements } from './nft/refusal-log.js';

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

const forwarded = (config: ServerConfig) => config.services.filter((s) => s.forward !== undefined);

/** The rules of the `mode` chain (input: knocks and the local services) for a mode (none in knock mode). */
export function modeRules(config: ServerConfig, mode: ServiceMode): string[] {
  const local = config.services.filter((s) => s.forward === undefined);
  const ports = `{ ${local.map((s) => s.port).join(', ')} }`;
  const tcp = (rule: string) => (local.length === 0 ? [] : [`tcp dport ${ports} ${rule}`]);
  switch (mode) {
    case 'knock':
      return [];
    case 'open':
      return tcp('counter name mode_accepted accept');
    case 'closed':
      // Refused knocks are logged (within the refusal budget) so `otpknockd why` can say so.
      return [
        `meta nfproto ipv4 udp dport @knock_ports ${refusalLogStatements(config, 4, CLOSED_PREFIX)}`,
        `meta nfproto ipv6 udp dport @knock_ports ${refusalLogStatements(config, 6, CLOSED_PREFIX)}`,
        'udp dport @knock_ports drop',
        ...tcp('counter name mode_refused drop'),
      ];
  }
}

/** The rules of `mode_forward`, which the forwarded services' guards jump to first. */
export function modeForwardRules(mode: ServiceMode): string[] {
  if (mode === 'knock') return [];
  return [mode === 'open' ? 'counter name mode_accepted accept' : 'counter name mode_refused drop'];
}

const chainRules = (rules: string[]) => rules.map((r) => `\t\t${r}\n`).join('');

/** The chain as part of a full table. */
export function modeChainText(config: ServerConfig, mode: ServiceMode): string {
  const rules = chainRules(modeRules(config, mode));
  const forwardChain =
    forwarded(config).length === 0
      ? ''
      : `
	chain mode_forward {
${chainRules(modeForwardRules(mode))}	}
`;
  return `
	counter mode_accepted {
	}

	counter mode_refused {
	}

	chain mode {
${rules}	}
${forwardChain}`;
}

/** Switches the live table's mode: one transaction that rewrites the chain. */
export function modeChangeScript(config: ServerConfig, mode: ServiceMode): string {
  const t = config.table;
  const lines = [`flush chain inet ${t} mode`, ...modeRules(config, mode).map((r) => `add rule inet ${t} mode ${r}`)];
  if (forwarded(config).length > 0) {
    lines.push(
      `flush chain inet ${t} mode_forward`,
      ...modeForwardRules(mode).map((r) => `add rule inet ${t} mode_forward ${r}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
