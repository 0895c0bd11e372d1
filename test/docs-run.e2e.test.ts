// The docs run as written (issue #13 §2): the code blocks of the README's Quick start,
// of docs/operations.md (build, install, the npm package, onboarding, apply) and of docs/team.md
// (onboarding), and knock.md's install steps, read from the Markdown by their
// `<!-- docs-run: NAME -->` markers and run as bash scripts on two throw-away machines
// (test/support/machine.ts: the harness's server and client network namespaces, each
// with a mount namespace of its own, so /etc, /usr, /var, /run, /root and /tmp are
// fresh). The server runs Debian's real sshd with its own /etc/ssh; the client has an
// ssh key that sshd accepts (the one piece of set-up the docs assume). Each scenario
// ends with `knock HOST && ssh HOST COMMAND` from the docs, logging in for real.
//
// What is not run as written, and why:
// - `pnpm install && `: the suite's own set-up installed the workspace; in a machine
//   with another HOME pnpm would want to reinstall the checkout's node_modules;
// - the foreground `otpknockd run` of the Quick start is started in the background;
// - systemctl and journalctl are stand-ins (test/support/systemd-stand-in): there is no
//   systemd as PID 1 here; they run the INSTALLED unit's own command lines. The unit
//   under a real systemd is packaging/systemd-check.sh's;
// - `vi` is the operator's edit: a stand-in that adds `user_store: users.d` (what
//   operations.md says a team adds);
// - the placeholder import line of a doc is replaced by the one the server printed,
//   after checking that the doc's line has the same form.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeE2E, pollUntil, useTopology, REPO_ROOT, type ExecResult, type Topology } from '@otpknock/e2e-harness';
import { commandsOf, docBlock, type DocBlock } from './support/doc-blocks.js';
import { startMachine, type Machine } from './support/machine.js';

const HOSTS = ['192.0.2.1 gw.example.org server'];
const STAND_IN = join(REPO_ROOT, 'test/support/systemd-stand-in');
const started = Date.now();
const timings: string[] = [];

const block = (file: string, name: string) => docBlock(REPO_ROOT, file, name);

/** Runs a block (or a text made from one) on a machine; it must exit 0. */
async function runBlock(
  m: Machine,
  b: DocBlock,
  opts: { text?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const t0 = Date.now();
  const r = await m.sh(opts.text ?? b.text, {
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  timings.push(`${b.file} ${b.name} on the ${m.role}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  expect(
    r.code,
    `${b.file}:${b.line} (${b.name}) on the ${m.role} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}:\n${r.stdout}\n${r.stderr}`,
  ).toBe(0);
  return r;
}

/** The one rewrite of a build block: the workspace is installed already (see the top). */
function withoutInstall(b: DocBlock): string {
  expect(b.text, `${b.file}:${b.line}`).toContain('pnpm install && ');
  return b.text.replace('pnpm install && ', '');
}

/** The line the server printed for the person's machine ("On their machine, run:"). */
function printedImportLine(output: string): string {
  const line = /On their machine, run:\n {2}(.*)\n/.exec(output)?.[1];
  expect(line, `no import line in:\n${output}`).toBeDefined();
  return line!;
}

/**
 * A client block whose first command is the doc's placeholder import line: the same
 * form as the printed one (only the URI differs), replaced by it; the rest as written.
 */
function withImportLine(b: DocBlock, printed: string): string {
  const [first, ...rest] = b.text.split('\n');
  const form = (l: string) => commandsOf(l)[0]!.replace(/'otpauth:\/\/[^']*'/, "'URI'");
  expect(form(first!), `${b.file}:${b.line}: the doc's import line`).toBe(form(printed));
  expect(printed).toMatch(/^printf '%s\\n' 'otpauth:\/\/totp\/[^']*' \| knock import -$/);
  return [printed, ...rest].join('\n');
}

/** Writes a file on a machine (stdin is a socket there: no /dev/stdin). */
async function writeFile(m: Machine, path: string, mode: string, content: string): Promise<void> {
  const r = await m.sh(`(umask 077; cat > '${path}') && chmod ${mode} '${path}'`, { input: content });
  expect(r.code, `writing ${path} on the ${m.role}: ${r.stderr}`).toBe(0);
}

/** The server and client machines, sshd on the server, and the client's ssh key authorized. */
async function machines(t: Topology, made: Machine[]): Promise<{ server: Machine; client: Machine }> {
  const server = await startMachine(t, 'server');
  made.push(server);
  const client = await startMachine(t, 'client', HOSTS);
  made.push(client);
  const stand = (name: string) => readFileSync(join(STAND_IN, name), 'utf8');
  for (const name of ['systemctl', 'journalctl'])
    await writeFile(server, `/usr/local/sbin/${name}`, '0755', stand(name));
  // Debian's sshd with the host's /etc/ssh (an overlay: changes stay in the machine).
  server.spawn('exec /usr/sbin/sshd -D -e');
  const key = await client.sh(
    [
      'install -d -m 0700 /root/.ssh',
      "ssh-keygen -q -t ed25519 -N '' -C docs-run -f /root/.ssh/id_ed25519",
      'printf "Host *\\n    StrictHostKeyChecking accept-new\\n    BatchMode yes\\n    ConnectTimeout 5\\n" > /root/.ssh/config',
      'cat /root/.ssh/id_ed25519.pub',
    ].join('\n'),
  );
  expect(key.code, key.stderr).toBe(0);
  await server.sh('install -d -m 0700 /root/.ssh');
  await writeFile(server, '/root/.ssh/authorized_keys', '0600', key.stdout);
  const up = await client.sh(
    'for i in $(seq 50); do ssh -o ConnectTimeout=1 server true && exit 0; sleep 0.2; done; exit 1',
    {
      timeoutMs: 30_000,
    },
  );
  expect(up.code, `ssh to the server before otpknockd: ${up.stderr}`).toBe(0);
  return { server, client };
}

/** knock.md's install steps on the client: pack the client package, install it into ~/.local. */
async function installKnock(client: Machine): Promise<void> {
  const pack = block('docs/knock.md', 'knock-pack');
  await runBlock(client, pack, { text: withoutInstall(pack), cwd: REPO_ROOT });
  const r = await runBlock(client, block('docs/knock.md', 'knock-install-linux'));
  expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/m);
}

/** Without a knock the server's sshd does not answer the client. */
async function expectClosed(client: Machine): Promise<void> {
  const r = await client.sh('ssh -o ConnectTimeout=2 gw.example.org true', { timeoutMs: 15_000 });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/timed out/);
}

/**
 * operations.md's way to a server: a build block on the client ("on any machine with pnpm",
 * which copies to the server over ssh), the install block on the server (ending with the
 * journal, which it returns), then the onboarding (`user uri`, import, knock && ssh).
 */
async function installAndOnboard(server: Machine, client: Machine, build: string, install: string): Promise<string> {
  const ops = (name: string) => block('docs/operations.md', name);
  await runBlock(client, ops(build), { text: withoutInstall(ops(build)), cwd: REPO_ROOT });
  const installed = await runBlock(server, ops(install));
  const journal = installed.stdout + installed.stderr;
  expect(journal).toMatch(/"event":"start"/); // journalctl -u otpknockd
  await expectClosed(client);
  await installKnock(client);
  const uri = await runBlock(server, ops('ops-uri'));
  await runBlock(client, ops('ops-client'), {
    text: withImportLine(ops('ops-client'), printedImportLine(uri.stdout)),
  });
  return journal;
}

/** A topology with its two machines for one describe: made before its tests, removed after. */
function useMachines(): () => { server: Machine; client: Machine } {
  const topo = useTopology();
  let m: { server: Machine; client: Machine } | undefined;
  const made: Machine[] = []; // also those of a set-up that failed half-way
  beforeAll(async () => {
    m = await machines(topo(), made);
  }, 60_000);
  afterAll(async () => {
    for (const machine of made.splice(0)) await machine.destroy();
  });
  return () => m!;
}

describeE2E('the docs run as written', () => {
  afterAll(() => {
    timings.push(`total: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.stdout.write(`docs-run timings:\n  ${timings.join('\n  ')}\n`);
  });

  describe("README's Quick start: server from the checkout, the client from knock.md, knock && ssh", () => {
    const m = useMachines();
    it('runs', async () => {
      const { server, client } = m();
      await installKnock(client);
      const quick = block('README.md', 'readme-server');
      const commands = commandsOf(quick.text);
      const foreground = commands.at(-1)!;
      expect(foreground).toMatch(/otpknockd\.js run /);
      const text = withoutInstall(quick)
        .split('\n')
        .filter((l) => l.trim() !== foreground)
        .join('\n');
      await runBlock(server, quick, { text, cwd: REPO_ROOT });
      const daemon = server.spawn(`exec ${foreground}`, { cwd: REPO_ROOT });
      await daemon.waitForLine(/"event":"start"/, { timeoutMs: 20_000 });
      await expectClosed(client);
      const uri = await runBlock(server, block('README.md', 'readme-uri'), { cwd: REPO_ROOT });
      const knock = block('README.md', 'readme-client');
      const r = await runBlock(client, knock, { text: withImportLine(knock, printedImportLine(uri.stdout)) });
      expect(r.stdout).toMatch(/load average/);
      expect(daemon.running, daemon.stderr()).toBe(true);
    }, 300_000);
  });

  describe('docs/operations.md from the npm package: pack and copy, install, onboard', () => {
    const m = useMachines();
    it('runs', async () => {
      const { server, client } = m();
      const journal = await installAndOnboard(server, client, 'ops-npm-pack', 'ops-npm-install');
      // the audit reader found beside the real file the link points to
      expect(journal).toMatch(/"event":"audit".*reading opens from NFLOG group/);
    }, 300_000);
  });

  describe('docs/operations.md: build and copy, install, onboard, apply; then docs/team.md: onboard a store user', () => {
    const m = useMachines();
    it('runs', async () => {
      const { server, client } = m();
      const ops = (name: string) => block('docs/operations.md', name);
      await installAndOnboard(server, client, 'ops-build', 'ops-install');

      // apply: the operator's edit adds the user store; the check from ANOTHER machine
      // between apply and confirm is the command the doc's comment gives.
      const edit = '#!/bin/sh\n# the operator\'s edit (docs-run test)\necho "user_store: users.d" >> "$1"\n';
      await writeFile(server, '/usr/local/bin/vi', '0755', edit);
      const apply = ops('ops-apply');
      const lines = apply.text.split('\n');
      const at = lines.findIndex((l) => l.includes('from ANOTHER machine'));
      expect(at, `${apply.file}:${apply.line}: the check from another machine`).toBeGreaterThan(0);
      await runBlock(server, apply, { text: lines.slice(0, at).join('\n') });
      const check = /a NEW connection:\s*(.*)$/.exec(lines[at]!)?.[1];
      await runBlock(client, apply, { text: check! });
      await runBlock(server, apply, { text: lines.slice(at + 1).join('\n') });

      const journal = async () => (await server.sh('journalctl -u otpknockd')).stdout;
      const before = (await journal()).split('\n').length;
      const add = await runBlock(server, block('docs/team.md', 'team-add'));
      // team.md: a store user is live from the next window boundary on (at most a period)
      await pollUntil(
        async () =>
          (await journal())
            .split('\n')
            .slice(before - 1)
            .some((l) => /"event":"users"/.test(l)),
        { timeoutMs: 40_000, intervalMs: 500, message: 'the daemon took bob from the store' },
      );
      const team = block('docs/team.md', 'team-client');
      await runBlock(client, team, { text: withImportLine(team, printedImportLine(add.stdout)) });
    }, 400_000);
  });
});
