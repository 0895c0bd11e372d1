// `otpknockd unban ADDR`: lifts a ban of the brute-force cut-off (nft/ban.ts) now.
// Acts on the running daemon's table in one transaction, like `open`; the unban
// goes to the audit with who did it, and the daemon logs it when it sees the ban gone.
import type { Command } from 'commander';
import { OtpknockError } from '@otpknock/shared';
import { audited } from '../audit/operator.js';
import { loadConfig } from '../config/index.js';
import type { ServerConfig } from '../config/types.js';
import { bannedFromJson } from '../nft/ban.js';
import { NftDriver, NftError } from '../nft/driver.js';
import { isOurTable } from '../nft/inspect.js';
import { banKeyOf } from '../refusals/book.js';
import { timeLeft } from '../refusals/file.js';
import { parseAddress } from './manual.js';
import { DEFAULT_CONFIG } from './common.js';

/**
 * Removes the ban and the source's strikes (so its next bad knock does not ban it
 * again at once). Each element is added first (a no-op when there) so that the
 * deletes cannot fail when the ban runs out meanwhile: one transaction either way.
 */
export function unbanScript(table: string, key: string, family: 4 | 6): string {
  return ['strikes', 'banned']
    .map((set) => {
      const s = `inet ${table} ${set}${family}`;
      return `add element ${s} { ${key} timeout 1s }\ndelete element ${s} { ${key} }\n`;
    })
    .join('');
}

async function unban(
  config: ServerConfig,
  text: string,
  nft = new NftDriver(),
): Promise<{ key: string; remainingMs: number; message: string }> {
  const { address, family } = parseAddress(text);
  if (config.ban === null)
    throw new OtpknockError('E_NOT_BANNED', `${address} is not banned: the brute-force cut-off is off (ban: off)`, {
      hint: 'nothing to lift; nothing was changed',
    });
  const listing = await nft.listText(['table', 'inet', config.table]);
  if (listing === null)
    throw new NftError(
      `otpknockd is not running: there is no table inet ${config.table}, so nobody is banned`,
      'nothing was changed',
    );
  if (!isOurTable(listing))
    throw new NftError(
      `table inet ${config.table} was not made by otpknockd`,
      'check "table:" in the config; nothing was changed',
    );
  const key = banKeyOf(address, family);
  const banned = bannedFromJson(await nft.listJson(['table', 'inet', config.table]));
  const ban = banned.find((b) => b.family === family && b.address === key);
  if (ban === undefined) {
    const now = banned.map((b) => b.address);
    throw new OtpknockError('E_NOT_BANNED', `${address}${key === address ? '' : ` (its /64, ${key})`} is not banned`, {
      hint: `${now.length === 0 ? 'no address is banned now' : `banned now: ${now.slice(0, 10).join(', ')}${now.length > 10 ? ', …' : ''}`}; "otpknockd why ${address}" says what the daemon saw from it; nothing was changed`,
    });
  }
  await nft.apply(unbanScript(config.table, key, family));
  return {
    key,
    remainingMs: ban.remainingMs,
    message: `unbanned ${key}${key === address ? '' : ` (the /64 of ${address})`}: its ban had ${timeLeft(ban.remainingMs)} left; its knocks count again from now\n`,
  };
}

export function registerUnban(program: Command): void {
  program
    .command('unban')
    .description(
      "Lift the ban of an address that made too many bad knocks (ban in the config). Acts on the running daemon's table.",
    )
    .argument('<addr>', 'the banned IPv4 address, or an IPv6 address of the banned /64')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG)
    .addHelpText(
      'after',
      `
The address leaves the kernel's set of banned sources at once, and its count of
bad knocks starts again from zero. IPv6 sources are banned by their /64: any
address of it lifts that ban. "otpknockd status" lists the banned addresses with
their time left; "otpknockd why ADDR" says what the daemon saw from one. The
unban (or its refusal) is recorded in state_dir/audit.jsonl as an operator
action (who: uid, SUDO_USER, login uid), and the daemon logs it.

Examples:
  otpknockd unban 192.0.2.3
  otpknockd unban 2001:db8:1::77

Exit status: 0 lifted; 1 the address is not banned, the daemon is not running
or nft failed (nothing changed); 2 not an address.`,
    )
    .action(async (addr: string, o: { config: string }) => {
      parseAddress(addr);
      const config = await loadConfig(o.config, { allowNoUsers: true });
      // Audited as an operator action (who, when, and a refusal too): audit/operator.ts.
      const done = await audited(config.stateDir, 'unban', { target: addr }, () => unban(config, addr), {
        describe: (r) => ({ banned: r.key, leftMs: r.remainingMs }),
      });
      process.stdout.write(done.message);
    });
}
