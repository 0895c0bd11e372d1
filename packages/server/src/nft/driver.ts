// The ONE place that runs `nft`. Scripts go in on stdin (never in argv), and
// nft's failures become errors a person can act on.
import { execa } from 'execa';
import { OtpknockError } from '@otpknock/shared';

/** Runs nft with arguments and optional stdin; injectable so unit tests can inject faults. */
export interface NftRunner {
  run(args: readonly string[], input?: string): Promise<{ stdout: string; stderr: string }>;
}

export class NftError extends OtpknockError {
  constructor(
    what: string,
    hint: string,
    readonly stderr = '',
  ) {
    super('E_NFT', what, { hint });
    this.name = 'NftError';
  }
}

/** Turns a failed nft run into an NftError that says what to do. */
export function explainNftFailure(err: unknown): NftError {
  const e = err as { code?: string; stderr?: string; shortMessage?: string; message?: string };
  if (e.code === 'ENOENT' && !cwdExists()) {
    // spawn reports a deleted working directory as ENOENT too
    return new NftError(
      'cannot run nft: the current working directory no longer exists',
      'cd to an existing directory (e.g. cd /) and run it again',
    );
  }
  if (e.code === 'ENOENT') {
    return new NftError('nft is not installed', 'install the nftables package: apt-get install nftables');
  }
  const stderr = (e.stderr ?? '').trim();
  if (/Operation not permitted/i.test(stderr)) {
    return new NftError(
      'nft was refused: otpknockd needs root or CAP_NET_ADMIN',
      'run it as root (or with AmbientCapabilities=CAP_NET_ADMIN under systemd)',
      stderr,
    );
  }
  if (/No such file or directory/.test(stderr) && /^delete element /m.test(stderr)) {
    return new NftError(
      `an element otpknockd expected is not in the kernel (deleted by hand, or its timeout ran out after a clock step): ${firstLines(stderr)}`,
      'nothing was changed; otpknockd reloads the whole table when this repeats',
      stderr,
    );
  }
  if (/Protocol not supported|Could not process rule: No such file or directory|not supported/i.test(stderr)) {
    return new NftError(
      `the kernel refused our ruleset; it may lack an nftables feature (nf_tables, sets with timeouts, maps with dynamic updates): ${firstLines(stderr)}`,
      'check `otpknockd render` output with `nft -c -f` and the kernel config (CONFIG_NF_TABLES_INET, CONFIG_NFT_CT, CONFIG_NFT_SET_HASH)',
      stderr,
    );
  }
  return new NftError(
    `nft failed: ${firstLines(stderr || e.shortMessage || e.message || String(err))}`,
    'the previous firewall state is unchanged',
    stderr,
  );
}

function cwdExists(): boolean {
  try {
    process.cwd();
    return true;
  } catch {
    return false;
  }
}

function firstLines(text: string): string {
  return text.split('\n').slice(0, 6).join('\n');
}

export const execaNftRunner: NftRunner = {
  async run(args, input) {
    // cleanup: false. A transaction in flight is all or nothing by itself, so it may
    // finish after we exit; and execa's exit hook (signal-exit) would otherwise,
    // at a SIGTERM that comes while nft runs, kill nft and re-raise the signal,
    // ending the daemon before its own stop handler ran.
    const result = await execa('nft', [...args], { input: input ?? '', stripFinalNewline: false, cleanup: false });
    return { stdout: result.stdout, stderr: result.stderr };
  },
};

export class NftDriver {
  constructor(private readonly runner: NftRunner = execaNftRunner) {}

  /** Loads a script as one transaction: all of it or nothing. */
  async apply(script: string): Promise<void> {
    if (script.trim() === '') return;
    try {
      await this.runner.run(['-f', '-'], script);
    } catch (err) {
      throw explainNftFailure(err);
    }
  }

  /** Checks a script without loading it (`nft -c`). */
  async check(script: string): Promise<void> {
    try {
      await this.runner.run(['-c', '-f', '-'], script);
    } catch (err) {
      throw explainNftFailure(err);
    }
  }

  /** `nft -j list …` parsed; null when the object does not exist. */
  async listJson(args: readonly string[]): Promise<unknown | null> {
    try {
      const { stdout } = await this.runner.run(['-j', 'list', ...args]);
      return JSON.parse(stdout) as unknown;
    } catch (err) {
      const e = err as { stderr?: string };
      if (/No such file or directory/.test(e.stderr ?? '')) return null;
      throw explainNftFailure(err);
    }
  }

  /** `nft list …` as text; null when the object does not exist. */
  async listText(args: readonly string[]): Promise<string | null> {
    try {
      return (await this.runner.run(['list', ...args])).stdout;
    } catch (err) {
      const e = err as { stderr?: string };
      if (/No such file or directory/.test(e.stderr ?? '')) return null;
      throw explainNftFailure(err);
    }
  }

  async deleteTable(table: string): Promise<void> {
    await this.apply(`delete table inet ${table}\n`);
  }
}
