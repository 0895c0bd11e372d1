// `services:`: the protected TCP services, each with a port of its own.
import { DEFAULTS, KEYS, SERVICE_NAME, describe, keysIn, serviceSchema } from './schema.js';
import type { ServiceConfig } from './types.js';
import { isMapping, type ParseContext } from './parse-context.js';

export interface Services {
  /** The valid services. */
  services: ServiceConfig[];
  /** Every name under services:, valid or not (users refer to them). */
  names: string[];
}

export function parseServices(ctx: ParseContext): Services {
  const value = ctx.data.services;
  const { report } = ctx;
  const services: ServiceConfig[] = [];
  if (value === undefined || value === null) {
    report.report(['services'], 'missing; expected at least one service to protect, e.g. "ssh: { port: 22 }"');
    return { services, names: [] };
  }
  if (!isMapping(value)) {
    report.report(
      ['services'],
      `expected a mapping of service names to settings, e.g. "ssh: { port: 22 }", got ${describe(value)}`,
    );
    return { services, names: [] };
  }
  if (Object.keys(value).length === 0) {
    report.report(['services'], 'expected at least one service to protect, e.g. "ssh: { port: 22 }"');
    return { services, names: [] };
  }
  for (const [name, settings] of Object.entries(value)) {
    const at = ['services', name];
    const nameOk = SERVICE_NAME.test(name);
    if (!nameOk) report.report(at, 'invalid service name; expected 1 to 24 characters from a-z, 0-9, _ and -');
    const raw = report.check(serviceSchema, settings, at, keysIn(KEYS.service));
    if (raw === undefined || !nameOk) continue;
    const taken = services.find((s) => s.port === raw.port);
    if (taken) {
      report.report(
        [...at, 'port'],
        `port ${raw.port} is already used by service ${taken.name}; each service needs a port of its own`,
      );
      continue;
    }
    services.push({ name, port: raw.port, openForMs: raw.open_for ?? DEFAULTS.openForMs });
  }
  return { services, names: Object.keys(value) };
}
