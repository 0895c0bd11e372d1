// `otpknockd fleet …`: the fleet directory in etcd (docs/fleet.md). Run by an admin
// with the directory file (-d): the people's secrets K stay in the directory's admin
// part; every server gets only the keys derived for it, through its own etcd prefix.
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import {
  OtpknockError,
  checkFleetName,
  checkHost,
  checkUserName,
  decodeSecret,
  formatOtpauthUri,
  normalizeProfile,
  type KnockProfileInput,
} from '@otpknock/shared';
import { writeFileAtomic } from '@otpknock/shared/safe-file';
import { readFile } from 'node:fs/promises';
import { parseDurationArgument } from '../config/index.js';
import { parseFleet, type FleetConfig } from '../config/fleet.js';
import { ConfigError } from '../config/errors.js';
import { IssueReporter } from '../yaml/issues.js';
import { readYaml } from '../yaml/source.js';
import { FleetAdmin } from '../fleet/admin.js';
import { directoryClient } from '../fleet/connect.js';
import type { PersonRecord } from '../fleet/directory.js';
import { importCommand } from '../users/onboarding.js';

export const DEFAULT_DIRECTORY_FILE = '/etc/otpknock/fleet.yaml';
const MAX_GRACE_MS = 365 * 86_400_000;

interface Common {
  directory: string;
}

/** The admin's directory file: the keys of the config's fleet section, without server. */
export async function readDirectoryFile(file: string): Promise<FleetConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new OtpknockError(
      'E_CONFIG',
      `cannot read the directory file ${file}: ${(e as { code?: string }).code ?? e}`,
      {
        hint: 'write one with name, endpoints and credentials_file (docs/fleet.md), or give it with -d FILE',
      },
    );
  }
  const src = readYaml(text);
  const report = new IssueReporter(file, src);
  if (src.errors.length > 0) report.addSyntaxErrors(src.errors);
  const fleet = src.errors.length > 0 ? undefined : parseFleet(src.data, [], dirname(file), report, false);
  if (fleet === undefined || report.issues.length > 0) throw new ConfigError(file, report.issues);
  return fleet;
}

async function adminOf(o: Common): Promise<FleetAdmin> {
  const fleet = await readDirectoryFile(o.directory);
  return new FleetAdmin(await directoryClient(fleet), fleet.name);
}

const directoryOption = () =>
  new Option('-d, --directory <file>', 'the directory file: name, endpoints, credentials_file (admin)').default(
    DEFAULT_DIRECTORY_FILE,
  );

/** Server names from the command line, each checked. */
const serverNames = (names: string[]) => names.map((n) => checkFleetName(n, 'SERVER'));

export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description(
      'Manage a fleet directory in etcd: one enrolment per person, each server gets only the keys derived for it (docs/fleet.md).',
    );
  fleet
    .command('init')
    .description("Write the fleet's knock profile and service port into the directory (once, before enrolling).")
    .addOption(directoryOption())
    .option('--method <method>', 'time or prng', 'time')
    .option('--period <seconds>', 'seconds per window', '30')
    .option('--length <n>', 'ports per sequence', '3')
    .option('--range <min-max>', 'knock port range', '10000-65000')
    .option('--port <port>', 'the protected TCP service people wait for', '22')
    .action(async (o: Common & { method: string; period: string; length: string; range: string; port: string }) => {
      const input: KnockProfileInput = {
        method: o.method,
        period: Number(o.period),
        length: Number(o.length),
        range: o.range,
      };
      const profile = normalizeProfile(input, 'fleet init');
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new OtpknockError('E_ARGUMENT', `${o.port} is not a port number`, { where: '--port' });
      const admin = await adminOf(o);
      await admin.init(profile, port);
      process.stdout.write(
        `fleet ${admin.fleet}: profile ${profile.method}, period ${profile.period}s, port ${port}\n`,
      );
    });
  registerServerCommands(fleet);
  registerPersonCommands(fleet);
}

function registerServerCommands(fleet: Command): void {
  const server = fleet.command('server').description('The servers of the fleet and their directory credentials.');
  server
    .command('add <server>')
    .description(
      'Create the etcd user and role of a server (it may read its own keys only) and write its credentials file (0600).',
    )
    .addOption(directoryOption())
    .option('--host <host>', 'where people knock it (default: its name)')
    .requiredOption('--credentials-out <file>', 'write the credentials file here, for the server (mode 0600)')
    .action(async (name: string, o: Common & { host?: string; credentialsOut: string }) => {
      const s = checkFleetName(name, 'SERVER');
      if (o.host !== undefined) checkHost(o.host, '--host');
      const admin = await adminOf(o);
      const creds = await admin.addServer(s, o.host);
      await writeFileAtomic(o.credentialsOut, `user: ${creds.user}\npassword: ${creds.password}\n`, { mode: 0o600 });
      process.stdout.write(
        `server ${s} added to fleet ${admin.fleet}; its credentials are in ${o.credentialsOut}: copy them to the server (mode 0600) and name them in its fleet.credentials_file\n`,
      );
    });
  server
    .command('remove <server>')
    .description('Remove a server: its keys, its etcd user and role; people keep their other servers.')
    .addOption(directoryOption())
    .action(async (name: string, o: Common) => {
      const s = checkFleetName(name, 'SERVER');
      const admin = await adminOf(o);
      await admin.removeServer(s);
      process.stdout.write(`server ${s} removed from fleet ${admin.fleet}\n`);
    });
  server
    .command('list')
    .description('List the servers and where people knock them.')
    .addOption(directoryOption())
    .action(async (o: Common) => {
      const admin = await adminOf(o);
      for (const s of await admin.servers()) process.stdout.write(`${s.name}\t${s.host ?? s.name}\n`);
    });
}

function registerPersonCommands(fleet: Command): void {
  fleet
    .command('enrol <name>')
    .alias('enroll')
    .description(
      'Enrol a person with a new secret on some servers; print the fleet URI they import once (knock import -).',
    )
    .addOption(directoryOption())
    .requiredOption('--servers <names...>', 'the servers they may knock')
    .option('-s, --service <name...>', "services they may open on each server (default: all of the server's)")
    .option('--json', 'print {person, uri, import} as JSON')
    .action(async (nameArg: string, o: Common & { servers: string[]; service?: string[]; json?: boolean }) => {
      const name = checkUserName(nameArg, 'NAME');
      const admin = await adminOf(o);
      const record = await admin.enrol(name, serverNames(splitList(o.servers)), o.service);
      await printFleetUri(admin, record, 'Enrolled', o.json === true);
    });
  fleet
    .command('grant <name> <servers...>')
    .description(
      'Let a person knock more servers (the same secret; their fleet URI lists servers, re-print it with uri).',
    )
    .addOption(directoryOption())
    .action(async (name: string, servers: string[], o: Common) => {
      const admin = await adminOf(o);
      const r = await admin.grant(checkUserName(name, 'NAME'), serverNames(splitList(servers)));
      process.stdout.write(`${name}: ${r?.servers.join(', ')}\n`);
    });
  fleet
    .command('revoke <name> [servers...]')
    .description(
      'Take servers away from a person (--all: every server); refused there from the next window at the latest.',
    )
    .addOption(directoryOption())
    .option('--all', 'every server')
    .action(async (name: string, servers: string[], o: Common & { all?: boolean }) => {
      if (!o.all && servers.length === 0)
        throw new OtpknockError('E_ARGUMENT', 'name the servers to revoke, or --all', { where: 'SERVERS' });
      const admin = await adminOf(o);
      const r = await admin.revoke(checkUserName(name, 'NAME'), o.all ? 'all' : serverNames(splitList(servers)));
      process.stdout.write(`${name}: ${r?.servers.join(', ') || 'no servers'}\n`);
    });
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    fleet
      .command(`${verb} <name>`)
      .description(disabled ? 'Disable a person on every server (records kept).' : 'Enable a disabled person again.')
      .addOption(directoryOption())
      .action(async (name: string, o: Common) => {
        const admin = await adminOf(o);
        await admin.setDisabled(checkUserName(name, 'NAME'), disabled);
        process.stdout.write(`${name}: ${verb}d\n`);
      });
  }
  fleet
    .command('remove <name>')
    .description('Remove a person and their keys from every server.')
    .addOption(directoryOption())
    .action(async (name: string, o: Common) => {
      const admin = await adminOf(o);
      await admin.remove(checkUserName(name, 'NAME'));
      process.stdout.write(`${name}: removed\n`);
    });
  fleet
    .command('rotate <name>')
    .description(
      'Issue a new secret; the old one stays accepted on every server for --grace. Prints the new fleet URI.',
    )
    .addOption(directoryOption())
    .requiredOption('--grace <duration>', 'how long the old secret keeps working, e.g. 1d, 2h, 0s')
    .option('--json', 'print {person, uri, import} as JSON')
    .action(async (nameArg: string, o: Common & { grace: string; json?: boolean }) => {
      const graceMs = parseDurationArgument(o.grace, '--grace', { min: 0, max: MAX_GRACE_MS });
      const admin = await adminOf(o);
      const record = await admin.rotate(checkUserName(nameArg, 'NAME'), graceMs);
      await printFleetUri(admin, record!, 'Rotated', o.json === true);
    });
  fleet
    .command('uri <name>')
    .description("Print a person's fleet URI again (after grant or revoke changed their servers).")
    .addOption(directoryOption())
    .option('--json', 'print {person, uri, import} as JSON')
    .action(async (nameArg: string, o: Common & { json?: boolean }) => {
      const admin = await adminOf(o);
      const name = checkUserName(nameArg, 'NAME');
      const p = (await admin.people()).find((x) => x.record.name === name);
      if (p === undefined) throw new OtpknockError('E_ARGUMENT', `no person ${name} in fleet ${admin.fleet}`);
      await printFleetUri(admin, p.record, 'Fleet URI of', o.json === true);
    });
  fleet
    .command('list')
    .description('List the people (never secrets): servers, state, secret age, grace.')
    .addOption(directoryOption())
    .option('--json', 'print JSON')
    .action(async (o: Common & { json?: boolean }) => {
      const admin = await adminOf(o);
      const rows = (await admin.people()).map(({ record: r }) => ({
        name: r.name,
        servers: r.servers,
        state: r.disabled ? 'disabled' : 'enabled',
        secretCreated: r.secretCreated,
        graceUntil:
          r.previous
            .map((p) => p.until)
            .sort()
            .at(-1) ?? null,
      }));
      if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else
        for (const r of rows)
          process.stdout.write(
            `${r.name}\t${r.state}\t${r.servers.join(',') || '-'}\t${r.secretCreated}\t${r.graceUntil ?? '-'}\n`,
          );
    });
}

/** `--servers a,b c` and `a b` alike. */
function splitList(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).filter((v) => v !== '');
}

/** The fleet URI of a person: their K, the fleet's profile, their servers with where to knock them. */
async function printFleetUri(admin: FleetAdmin, p: PersonRecord, verb: string, json: boolean): Promise<void> {
  const settings = await admin.settings();
  const hosts = new Map((await admin.servers()).map((s) => [s.name, s.host]));
  const uri = formatOtpauthUri({
    secret: decodeSecret(p.secret),
    issuer: admin.fleet,
    account: p.name,
    profile: settings.profile,
    servicePort: settings.port,
    fleet: {
      name: admin.fleet,
      servers: p.servers.map((s) => {
        const host = hosts.get(s);
        return host === undefined ? { name: s } : { name: s, host };
      }),
    },
  });
  const line = importCommand(uri);
  if (json) {
    process.stdout.write(`${JSON.stringify({ person: p.name, uri, import: line })}\n`);
    return;
  }
  process.stdout.write(
    [
      `${verb} ${p.name} in fleet ${admin.fleet} (servers: ${p.servers.join(', ') || 'none'}).`,
      '',
      'Fleet URI (holds the secret: hand it over privately):',
      `  ${uri}`,
      '',
      'On their machine, run:',
      `  ${line}`,
      '',
      'Every allowed server accepts it within one window; no server holds this secret.',
      '',
    ].join('\n'),
  );
}
