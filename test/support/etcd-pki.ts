// Certificates for a TLS etcd cluster in the tests, made by openssl in a temp dir: a
// CA; per member a certificate for its RFC 5737 address (server and client use: the
// members' peer links and etcd's own JSON gateway present it); a client certificate
// for the daemons and the admin; and a second CA that signed none of them (a wrong
// ca_file). EC P-256 keys: quick to make. Private keys are 0600, as key_file wants.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSync } from '@otpknock/e2e-harness';

export interface CertAndKey {
  cert: string;
  key: string;
}

export interface EtcdPki {
  dir: string;
  /** The CA that signed every certificate here (PEM file). */
  ca: string;
  /** Another CA, which signed nothing of this cluster's. */
  otherCa: string;
  /**
   * A client certificate signed by `ca`, without a Common Name: etcd's JSON gateway
   * refuses a client certificate with one while --client-cert-auth is on.
   */
  client: CertAndKey;
  /** The same with CN=otpknock-client, which the gateway refuses. */
  clientWithCn: CertAndKey;
  member(host: string): CertAndKey;
}

const DAYS = '2';

function openssl(args: string[]): void {
  const r = runSync(['openssl', ...args], 15_000);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function makeCa(dir: string, name: string): CertAndKey {
  const ca = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
      .concat(['-keyout', ca.key, '-out', ca.cert, '-days', DAYS, '-subj', `/CN=otpknock test ${name}`])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
  );
  return ca;
}

/** A certificate signed by `ca` for the subject `subject` (e.g. /CN=e1), with these extensions. */
function issue(dir: string, ca: CertAndKey, name: string, subject: string, extensions: string[]): CertAndKey {
  const out = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${['basicConstraints=critical,CA:FALSE', ...extensions].join('\n')}\n`);
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', out.key].concat([
      '-out',
      csr,
      '-subj',
      subject,
    ]),
  );
  openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'].concat([
      '-out',
      out.cert,
      '-days',
      DAYS,
      '-extfile',
      ext,
    ]),
  );
  chmodSync(out.key, 0o600);
  return out;
}

export function makeEtcdPki(dir: string, members: readonly { host: string; ip: string }[]): EtcdPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = makeCa(dir, 'ca');
  const other = makeCa(dir, 'other-ca');
  const both = 'extendedKeyUsage=serverAuth,clientAuth';
  const memberCerts = new Map(
    members.map((m) => [
      m.host,
      issue(dir, ca, `member-${m.host}`, `/CN=${m.host}`, [
        `subjectAltName=IP:${m.ip}`,
        both,
        'keyUsage=digitalSignature',
      ]),
    ]),
  );
  const clientUse = ['extendedKeyUsage=clientAuth', 'keyUsage=digitalSignature'];
  const client = issue(dir, ca, 'client', '/O=otpknock test client', clientUse);
  const clientWithCn = issue(dir, ca, 'client-cn', '/CN=otpknock-client', clientUse);
  return {
    dir,
    ca: ca.cert,
    otherCa: other.cert,
    client,
    clientWithCn,
    member: (host) => memberCerts.get(host)!,
  };
}
