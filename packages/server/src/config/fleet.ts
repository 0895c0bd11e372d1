// `fleet:`: where this server's users come from besides the config and the user store
// — a directory in etcd (docs/fleet.md). The same keys, without `server`, make the
// admin's directory file (`otpknockd fleet --directory FILE`).
import { resolve } from 'node:path';
import { z } from 'zod';
import { fleetNameProblem, FLEET_NAME_RULE } from '@otpknock/shared';
import { duration } from './schema.js';
import type { FieldPath } from '../yaml/source.js';
import type { IssueReporter } from '../yaml/issues.js';

/** How to reach the directory, and as whom. */
export interface FleetConfig {
  /** The fleet's name (the KDF's F, the directory's /otpknock/<name>/). */
  name: string;
  /** This server's name (the KDF's S); absent in the admin's directory file. */
  server?: string;
  endpoints: string[];
  /** `user: …` and `password: …` for etcd auth (absolute path; a secret file). */
  credentialsFile?: string;
  caFile?: string;
  certFile?: string;
  /** The client key of cert_file (a secret file). */
  keyFile?: string;
  /** How often the daemon confirms its users with a linearizable read. */
  checkIntervalMs: number;
  /** Time limit of one request to etcd. */
  timeoutMs: number;
  /** Drop the directory's users when it could not be confirmed for this long; absent: keep them. */
  maxStaleMs?: number;
}

export const FLEET_DEFAULTS = { checkIntervalMs: 10_000, timeoutMs: 3_000 } as const;

const endpoint = z
  .string({ error: 'expected an etcd client URL such as http://192.0.2.101:2379' })
  .refine((s) => /^https?:\/\/[^/\s]+\/?$/.test(s), {
    error: 'expected an etcd client URL such as http://192.0.2.101:2379 or https://etcd1.example.org:2379',
  });
const path = z.string({ error: 'expected a file path' }).min(1);

export const fleetSchema = z.strictObject(
  {
    name: z.string({ error: `expected the fleet's name (${FLEET_NAME_RULE})` }),
    server: z.string({ error: `expected this server's name in the fleet (${FLEET_NAME_RULE})` }).optional(),
    endpoints: z.array(endpoint, { error: 'expected a list of etcd client URLs' }).min(1, {
      error: 'expected at least one etcd client URL',
    }),
    credentials_file: path.optional(),
    ca_file: path.optional(),
    cert_file: path.optional(),
    key_file: path.optional(),
    check_interval: duration(1_000, 3_600_000).optional(),
    timeout: duration(100, 60_000).optional(),
    max_stale: duration(5_000, 365 * 86_400_000).optional(),
  },
  { error: 'expected a mapping such as { name: acme, server: web-3, endpoints: [http://192.0.2.101:2379] }' },
);
export const FLEET_KEYS = Object.keys(fleetSchema.shape);

/**
 * Checks a `fleet` mapping (at `at` in its file, relative paths from `dir`). `needServer`:
 * the daemon's config must say which server it is; the admin's file must not.
 */
export function parseFleet(
  value: unknown,
  at: FieldPath,
  dir: string,
  report: IssueReporter,
  needServer: boolean,
): FleetConfig | undefined {
  const raw = report.check(fleetSchema, value, at, () => FLEET_KEYS);
  if (raw === undefined) return undefined;
  let ok = true;
  const nameProblem = fleetNameProblem(raw.name);
  if (nameProblem !== undefined) {
    report.report([...at, 'name'], `not a fleet name: it ${nameProblem}; expected ${FLEET_NAME_RULE}`);
    ok = false;
  }
  if (raw.server === undefined && needServer) {
    report.report([...at, 'server'], "missing; expected this server's name in the fleet, e.g. web-3");
    ok = false;
  } else if (raw.server !== undefined) {
    const p = fleetNameProblem(raw.server);
    if (p !== undefined) {
      report.report([...at, 'server'], `not a server name: it ${p}; expected ${FLEET_NAME_RULE}`);
      ok = false;
    }
  }
  if ((raw.cert_file === undefined) !== (raw.key_file === undefined)) {
    report.report(
      [...at, raw.cert_file === undefined ? 'cert_file' : 'key_file'],
      'cert_file and key_file go together',
    );
    ok = false;
  }
  if (!ok) return undefined;
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(dir, p));
  const files = {
    credentialsFile: abs(raw.credentials_file),
    caFile: abs(raw.ca_file),
    certFile: abs(raw.cert_file),
    keyFile: abs(raw.key_file),
  };
  return {
    name: raw.name,
    ...(raw.server === undefined ? {} : { server: raw.server }),
    endpoints: raw.endpoints,
    ...Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)),
    checkIntervalMs: raw.check_interval ?? FLEET_DEFAULTS.checkIntervalMs,
    timeoutMs: raw.timeout ?? FLEET_DEFAULTS.timeoutMs,
    ...(raw.max_stale === undefined ? {} : { maxStaleMs: raw.max_stale }),
  };
}
