// Eve's junk: the lib/udp-flood.py job that aims a peer's junk at its server, and what it reports.
import type { Peer } from './peer.js';

export interface Flood {
  sent: number;
  errors: number;
  seconds: number;
}

export function floodJob(peer: Peer, count: number, rate: number, maxSeconds: number) {
  return {
    host: peer.server,
    ports: peer.junk.ports,
    count,
    maxSeconds,
    rate,
    bind: peer.eve,
    payload: peer.junk.payload,
    payloadBytes: peer.junk.payloadBytes,
  };
}
