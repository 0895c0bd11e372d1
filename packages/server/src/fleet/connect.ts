// From a `fleet` section to an etcd client: the credentials file and the TLS key are
// read with the rule for secrets (regular file, root's or the daemon's, mode 0600 or
// tighter), the CA and the certificate as the public files they are.
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { OtpknockError, SECRET_FILE_MAX_BYTES } from '@otpknock/shared';
import { readFileInfo } from '@otpknock/shared/safe-file';
import { parse } from 'yaml';
import type { FleetConfig } from '../config/fleet.js';
import { readFailure, secretFileProblem } from '../config/secret-file.js';
import { EtcdClient } from './etcd.js';

/** Reads a file that holds a secret, refusing it the way ssh refuses a loose private key. */
async function readSecretText(file: string, what: string, daemonUid: number): Promise<string> {
  let info;
  try {
    info = await readFileInfo(file, SECRET_FILE_MAX_BYTES);
  } catch (e) {
    throw new OtpknockError('E_CONFIG', readFailure(file, e, daemonUid), { where: what });
  }
  const problem = secretFileProblem(file, info, daemonUid);
  if (problem !== undefined || info.text === undefined)
    throw new OtpknockError('E_CONFIG', problem ?? `cannot read ${file}`, { where: what });
  return info.text;
}

/** A certificate file (public: no permission rule), refused clearly when missing or not PEM. */
async function readCertificate(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new OtpknockError('E_CONFIG', `cannot read ${file}: ${(e as Error).message}`, { where: what });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new OtpknockError('E_CONFIG', `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, {
      where: what,
    });
  return text;
}

/** cert_file and key_file must belong together: say so here, not as an OpenSSL error at each request. */
function checkKeyPair(cert: string, key: string, fleet: FleetConfig): void {
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new OtpknockError(
      'E_CONFIG',
      `${fleet.keyFile} is not the private key of ${fleet.certFile} (${(e as Error).message.replace(/^error:[0-9A-F]+:/, '')})`,
      { where: 'fleet.key_file' },
    );
  }
}

/** `user: NAME` and `password: PASSWORD` (YAML), as `otpknockd fleet server add` writes them. */
export function parseCredentials(text: string, file: string): { user: string; password: string } {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    doc = undefined;
  }
  const d = doc as { user?: unknown; password?: unknown } | null | undefined;
  if (typeof d?.user !== 'string' || d.user === '' || typeof d.password !== 'string' || d.password === '')
    throw new OtpknockError('E_CONFIG', `${file}: expected two lines, "user: NAME" and "password: PASSWORD"`, {
      where: 'credentials_file',
      hint: 'write it with otpknockd fleet server add NAME --credentials-out FILE',
    });
  return { user: d.user, password: d.password };
}

/** An etcd client for the directory of `fleet`, as its files say. */
export async function directoryClient(fleet: FleetConfig, daemonUid = process.getuid?.() ?? 0): Promise<EtcdClient> {
  const creds =
    fleet.credentialsFile === undefined
      ? undefined
      : parseCredentials(
          await readSecretText(fleet.credentialsFile, 'fleet.credentials_file', daemonUid),
          fleet.credentialsFile,
        );
  const tls = {
    ...(fleet.caFile === undefined
      ? {}
      : { ca: await readCertificate(fleet.caFile, 'fleet.ca_file'), caFile: fleet.caFile }),
    ...(fleet.certFile === undefined
      ? {}
      : { cert: await readCertificate(fleet.certFile, 'fleet.cert_file'), certFile: fleet.certFile }),
    ...(fleet.keyFile === undefined ? {} : { key: await readSecretText(fleet.keyFile, 'fleet.key_file', daemonUid) }),
  };
  if (tls.cert !== undefined && tls.key !== undefined) checkKeyPair(tls.cert, tls.key, fleet);
  return new EtcdClient({
    endpoints: fleet.endpoints,
    ...(creds === undefined ? {} : { user: creds.user, password: creds.password }),
    tls,
    timeoutMs: fleet.timeoutMs,
  });
}
