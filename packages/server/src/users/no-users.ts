// A table without users: a fleet server whose directory gives it nobody (its last
// person revoked) and that has no local user. It opens for nobody by knock; the
// daemon's log and `otpknockd status` say so, and what still gets in.
import type { ServerConfig } from '../config/types.js';

/** What a table without users means, and the ways in that are left. */
export function noUsersText(config: Pick<ServerConfig, 'fleet' | 'breakGlass'>): string {
  const from =
    config.fleet === undefined
      ? ''
      : ` (fleet ${config.fleet.name} gives server ${config.fleet.server ?? '?'} nobody, and it has no local user)`;
  const ways = [
    ...(config.breakGlass === undefined ? [] : [`break_glass still opens ${config.breakGlass.services.join(', ')}`]),
    'otpknockd mode open opens the services from the console',
  ];
  return `NO USERS${from}: the table opens for nobody by knock; ${ways.join('; ')}`;
}
