// The namespaces' links: one veth pair from the client to each server (with eve's address on
// the client's side), and the TCP service every server guards.
import { agentPath } from '@otpknock/e2e-harness';
import type { BenchNet } from '../lib/netns.js';
import { NODE, SERVICE_PORT } from './params.js';
import { check, type Ctx } from './peer.js';

export interface Addrs {
  role: string;
  server: string;
  client: string;
  eve: string;
  serverIf: string;
}

export async function makeLink(net: BenchNet, role: string, prefix: string): Promise<Addrs> {
  await net.addNamespace(role);
  const l = await net.link('cli', `${prefix}.2/24`, role, `${prefix}.1/24`);
  // eve, the flooder, is a second address on the client's side of the link.
  await check(net, 'cli', ['ip', 'addr', 'add', `${prefix}.66/24`, 'dev', l.aIf]);
  return { role, server: `${prefix}.1`, client: `${prefix}.2`, eve: `${prefix}.66`, serverIf: l.bIf };
}

export async function startService(ctx: Ctx, role: string): Promise<void> {
  const svc = ctx.net.spawn(role, [NODE, agentPath('service.mjs'), role, String(SERVICE_PORT)]);
  await svc.waitForLine('"event":"listening"', { timeoutMs: 10_000 });
}
