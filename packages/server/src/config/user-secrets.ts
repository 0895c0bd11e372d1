// A config user's secret: from its secret_file (a private file, judged by the rule
// of @otpknock/shared/safe-file) or inline (only in a private config file), never
// repeated in a message; and the rule that no two users share one.
import { resolve } from 'node:path';
import { OtpknockError, decodeSecret, type SecretBytes } from '@otpknock/shared';
import { joinHint } from './errors.js';
import { octalMode, readFailure, secretFileProblem, secretFromFileText, type FileInfo } from './secret-file.js';
import { pathText, type FieldPath } from '../yaml/source.js';
import type { ParseContext } from './parse-context.js';

export interface UserSecret {
  bytes: SecretBytes;
  /** Where it came from, for `otpknockd status` (never the secret). */
  source: string;
  /** The field that gave it: secret_file or secret. */
  field: 'secret_file' | 'secret';
}

/** The secret of config user `name`, or undefined (reported) when it cannot be used. */
export function readUserSecret(
  ctx: ParseContext,
  name: string,
  inline: string | undefined,
  secretFile: string | undefined,
): UserSecret | undefined {
  const at = ['users', name];
  if (inline !== undefined && secretFile !== undefined) {
    ctx.report.report(
      [...at, 'secret'],
      'both secret and secret_file are set; keep exactly one (secret_file is preferred: the config file then holds no secret)',
    );
    return undefined;
  }
  if (secretFile !== undefined) return fromFile(ctx, [...at, 'secret_file'], resolve(ctx.dir, secretFile));
  if (inline !== undefined) {
    const field = [...at, 'secret'];
    const configFile = ctx.options.configFile;
    if (configFile !== undefined && (configFile.mode & 0o077) !== 0) {
      ctx.report.report(
        field,
        `inline secret in a configuration file that group or others can read (permissions ${octalMode(configFile.mode)}); run chmod 600 ${ctx.file}, or better, move the secret to a secret_file`,
      );
      return undefined;
    }
    const bytes = decodeReported(ctx, inline.replace(/\s+/g, ''), field, '');
    return bytes && { bytes, source: 'inline', field: 'secret' };
  }
  ctx.report.report(
    at,
    'missing secret_file; expected the path of a file holding the base32 secret, e.g. "secret_file: /etc/otpknock/secrets/alice"',
  );
  return undefined;
}

function fromFile(ctx: ParseContext, field: FieldPath, path: string): UserSecret | undefined {
  let info: FileInfo;
  try {
    info = ctx.options.readSecretFile(path);
  } catch (e) {
    ctx.report.report(field, readFailure(path, e, ctx.daemonUid));
    return undefined;
  }
  const problem = secretFileProblem(path, info, ctx.daemonUid);
  if (problem !== undefined || info.text === undefined) {
    ctx.report.report(field, problem ?? `cannot read ${path}`);
    return undefined;
  }
  const text = secretFromFileText(info.text);
  if (text === '') {
    ctx.report.report(
      field,
      `${path} holds no secret (only comments or blank lines); expected base32 text, e.g. made with "head -c 20 /dev/urandom | base32"`,
    );
    return undefined;
  }
  const bytes = decodeReported(ctx, text, field, ` in ${path}`);
  return bytes && { bytes, source: `file ${path}`, field: 'secret_file' };
}

function decodeReported(ctx: ParseContext, text: string, field: FieldPath, suffix: string): SecretBytes | undefined {
  try {
    return decodeSecret(text, pathText(field));
  } catch (e) {
    if (!(e instanceof OtpknockError)) throw e;
    // decodeSecret never quotes a character of the secret (messages end up in logs).
    ctx.report.report(field, `${joinHint(e)}${suffix}`);
    return undefined;
  }
}

/** Who holds which secret: the kernel could not tell two users with one secret apart. */
export class SecretOwners {
  private readonly owners = new Map<string, string>();

  /** Records `user` as an owner of `secret`; the user who had it first, if another. */
  claim(secret: SecretBytes, user: string): string | undefined {
    const key = Buffer.from(secret).toString('hex');
    const other = this.owners.get(key);
    this.owners.set(key, user);
    return other;
  }
}
