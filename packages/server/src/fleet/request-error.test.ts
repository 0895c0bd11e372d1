import { describe, expect, it } from 'vitest';
import { explainNonJsonAnswer, explainRequestError } from './request-error.js';

const E = 'https://192.0.2.101:2379';

describe('explainRequestError', () => {
  it('a server certificate no trusted CA signed: names the endpoint, the ca_file and what it must hold', () => {
    expect(
      explainRequestError(
        { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'unable to verify the first certificate' },
        E,
        { caFile: '/etc/otpknock/etcd-ca.pem' },
      ),
    ).toBe(
      "https://192.0.2.101:2379: TLS: its certificate is not signed by a CA in ca_file /etc/otpknock/etcd-ca.pem (unable to verify the first certificate, UNABLE_TO_VERIFY_LEAF_SIGNATURE); ca_file must hold the CA that signed the etcd members' certificates",
    );
    expect(
      explainRequestError(
        { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' },
        E,
        {},
      ),
    ).toMatch(/not signed by a CA this system trusts \(no ca_file given\)/);
  });

  it('another address, an expired certificate', () => {
    expect(
      explainRequestError(
        { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: "Hostname/IP does not match certificate's altnames" },
        E,
        {},
      ),
    ).toMatch(
      /^https:\/\/192\.0\.2\.101:2379: TLS: its certificate is not for this address \(.*\); each member's certificate must name/,
    );
    expect(explainRequestError({ code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' }, E, {})).toMatch(
      /its certificate is expired \(certificate has expired, CERT_HAS_EXPIRED\); renew it, or check this host's clock/,
    );
  });

  it("etcd's alert about our client certificate: missing, or not signed by its CA", () => {
    const alert = {
      message:
        '806CE8EE237F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42',
    };
    expect(explainRequestError(alert, E, {})).toBe(
      'https://192.0.2.101:2379: TLS: etcd refused the connection without a client certificate (alert bad certificate); it runs with --client-cert-auth: set cert_file and key_file',
    );
    expect(explainRequestError(alert, E, { certFile: '/etc/otpknock/client.pem' })).toMatch(
      /etcd refused the client certificate of cert_file \/etc\/otpknock\/client\.pem \(alert bad certificate\); it must be signed by the CA of etcd's --trusted-ca-file/,
    );
  });

  it('http and https mixed up; anything else as it is, with the endpoint', () => {
    expect(
      explainRequestError(
        {
          code: 'ECONNRESET',
          message: 'Client network socket disconnected before secure TLS connection was established',
        },
        'https://192.0.2.101:2378',
        {},
      ),
    ).toMatch(/TLS: the handshake did not complete \(.*\); is it an http:\/\/ endpoint\?$/);
    expect(explainRequestError({ code: 'ECONNRESET', message: 'socket hang up' }, 'http://192.0.2.101:2379', {})).toBe(
      'http://192.0.2.101:2379: socket hang up, ECONNRESET (an https:// endpoint reached with http://?)',
    );
    expect(explainRequestError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 192.0.2.101:2379' }, E, {})).toBe(
      'https://192.0.2.101:2379: connect ECONNREFUSED 192.0.2.101:2379',
    );
  });
});

describe('explainNonJsonAnswer', () => {
  it("etcd's gateway refusing a client certificate with a CN: what to issue instead", () => {
    expect(
      explainNonJsonAnswer(
        E,
        '/v3/auth/authenticate',
        400,
        'CommonName of client sending a request against gateway will be ignored and not used as expected\n',
      ),
    ).toBe(
      "https://192.0.2.101:2379: not JSON from /v3/auth/authenticate (HTTP 400: CommonName of client sending a request against gateway will be ignored and not used as expected); etcd's JSON gateway refuses client certificates with a Common Name (CN): issue cert_file without a CN (the etcd user comes from credentials_file)",
    );
    expect(explainNonJsonAnswer(E, '/v3/kv/range', 502, '<html>\n<b>Bad gateway</b></html>')).toBe(
      'https://192.0.2.101:2379: not JSON from /v3/kv/range (HTTP 502: <html> <b>Bad gateway</b></html>)',
    );
  });
});
