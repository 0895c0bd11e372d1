// Why a request to an etcd endpoint failed, in words that name the endpoint, the
// certificate problem and the setting to look at. Pure: Node's error (code and
// message), the endpoint and which TLS files were given in; one sentence out.

export interface TlsFiles {
  /** Where the trusted CA comes from (ca_file's path), for messages; absent: the system's CAs. */
  caFile?: string;
  /** cert_file's path, when a client certificate is given. */
  certFile?: string;
}

/** Node's codes for a server certificate that no trusted CA signed. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** An alert the server sent during the handshake about our certificate (OpenSSL: "…alert bad certificate…"). */
const CLIENT_CERT_ALERT =
  /alert (bad certificate|certificate required|unknown ca|certificate unknown|unsupported certificate|certificate revoked|certificate expired)/i;

export function explainRequestError(e: { code?: string; message: string }, endpoint: string, tls: TlsFiles): string {
  const code = e.code ?? '';
  const https = endpoint.startsWith('https:');
  const detail = `${e.message.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:/, '').replace(/:\.\.\/deps\/.*$/, '')}${code !== '' && !e.message.includes(code) ? `, ${code}` : ''}`;
  if (UNTRUSTED.has(code))
    return `${endpoint}: TLS: its certificate is not signed by ${
      tls.caFile === undefined ? 'a CA this system trusts (no ca_file given)' : `a CA in ca_file ${tls.caFile}`
    } (${detail}); ca_file must hold the CA that signed the etcd members' certificates`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `${endpoint}: TLS: its certificate is not for this address (${detail}); each member's certificate must name the host or IP address of its endpoint`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `${endpoint}: TLS: its certificate is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'} (${detail}); renew it, or check this host's clock`;
  const alert = CLIENT_CERT_ALERT.exec(e.message);
  if (alert)
    return tls.certFile === undefined
      ? `${endpoint}: TLS: etcd refused the connection without a client certificate (${alert[0]}); it runs with --client-cert-auth: set cert_file and key_file`
      : `${endpoint}: TLS: etcd refused the client certificate of cert_file ${tls.certFile} (${alert[0]}); it must be signed by the CA of etcd's --trusted-ca-file`;
  if (
    https &&
    (code === 'ECONNRESET' || code === 'EPROTO' || /wrong version number|before secure TLS/i.test(e.message))
  )
    return `${endpoint}: TLS: the handshake did not complete (${detail}); is it an http:// endpoint?`;
  if (!https && (code === 'ECONNRESET' || /socket hang up/i.test(e.message)))
    return `${endpoint}: ${detail} (an https:// endpoint reached with http://?)`;
  return `${endpoint}: ${detail}`;
}

/** A body that is not etcd's JSON (a proxy's page, etcd's gateway refusing a request) in one line. */
export function explainNonJsonAnswer(endpoint: string, path: string, status: number | undefined, body: string): string {
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  const head = `${endpoint}: not JSON from ${path} (HTTP ${status ?? '?'}${text === '' ? '' : `: ${text}`})`;
  // etcd ≥ 3.4 with --client-cert-auth: its JSON gateway cannot hand a certificate's
  // CN on as the etcd user, so it refuses requests whose client certificate has one.
  if (/CommonName of client sending a request against gateway/i.test(text))
    return `${head}; etcd's JSON gateway refuses client certificates with a Common Name (CN): issue cert_file without a CN (the etcd user comes from credentials_file)`;
  if (/HTTP request to an HTTPS server/i.test(text)) return `${head}; use https:// for this endpoint`;
  return head;
}
