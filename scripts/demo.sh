#!/usr/bin/env bash
# The README's first command: otpknock for real, in two throw-away network
# namespaces, narrated step by step.
#
#   server namespace: otpknockd (the built bundle) + Debian's OpenSSH sshd on port 22
#   client namespace: ssh, and `knock` as its ProxyCommand
#
# Run as root on Debian with Node >= 20.19. It first runs scripts/setup.sh (installs
# what is missing, builds), then needs well under a minute. Nothing is created in the
# root namespace: no interface, no firewall rule. Everything it made — its processes
# (by PID), its namespaces, its temp dir — is removed at the end, on failure and on
# Ctrl-C. Addresses are documentation ranges only (192.0.2.0/24, 2001:db8::/32).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
# The terminal, kept as fds 3 and 4: traps can fire while a command's output is redirected.
exec 3>&1 4>&2

# ---- output ---------------------------------------------------------------------
if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' D='' G='' R='' N=''; fi
STEP=0
step() { STEP=$((STEP + 1)); printf '\n%s== %d. %s%s\n' "$B" "$STEP" "$1" "$N"; }
say() { printf '%s\n' "$*" | fold -s -w 86 | sed 's/ *$//; s/^/   /'; }
ok() { printf '   %s✓ %s%s\n' "$G" "$1" "$N"; }
die() { printf '\n%sdemo failed: %s%s\n' "$R" "$*" "$N" >&4; exit 1; }
# Shows a command line as it is typed in a namespace ("client$ ..."), then runs it there.
shown() { local where=$1; shift; printf '   %s%s$%s %s\n' "$D" "$where" "$N" "$*"; }

[ "$(id -u)" = 0 ] || die "run me as root (I create network namespaces and run nftables in them): sudo bash scripts/demo.sh"
command -v node >/dev/null 2>&1 || die "Node >= 20.19 is needed (apt-get install nodejs, or nodesource)"

step "Setup: packages, dependencies, build (scripts/setup.sh)"
say "Installs nftables, iproute2, openssh-server/-client and pnpm when missing, then builds" \
    "the two bundles: packages/server/dist/otpknockd.js and packages/client/dist/knock.js."
bash scripts/setup.sh || die "scripts/setup.sh failed (see above)"
NODE=$(command -v node)
OTPKNOCKD=$REPO/packages/server/dist/otpknockd.js
KNOCK=$REPO/packages/client/dist/knock.js
SSHD=/usr/sbin/sshd
for f in "$OTPKNOCKD" "$KNOCK" "$SSHD"; do [ -e "$f" ] || die "$f is missing after setup"; done
for c in ip nft ssh ssh-keygen timeout; do command -v "$c" >/dev/null 2>&1 || die "$c is missing after setup"; done

# ---- everything this run creates, and its removal ---------------------------------
TAG=okdemo$$
NS_S=$TAG-server
NS_C=$TAG-client
TMP=$(mktemp -d "/tmp/otpknock-demo.XXXXXX")
PIDS=()
CLEANED=0
cleanup() {
  [ "$CLEANED" = 1 ] && return
  CLEANED=1
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns del "$NS_S" 2>/dev/null || true
  rm -rf "$TMP"
}
on_exit() {
  local code=$?
  cleanup
  if [ "$code" = 0 ]; then
    printf '\n%sCleaned up: processes %s stopped, namespaces %s and %s deleted, %s removed.%s\n' "$D" "${PIDS[*]:-}" "$NS_S" "$NS_C" "$TMP" "$N" >&3
  else
    printf '%sCleaned up after the failure (exit %s): processes, namespaces %s-*, %s.%s\n' "$D" "$code" "$TAG" "$TMP" "$N" >&4
  fi
}
trap on_exit EXIT
trap 'die "line $LINENO: this failed: $BASH_COMMAND"' ERR
trap 'printf "\n%sinterrupted%s\n" "$R" "$N" >&4; exit 130' INT
trap 'exit 143' TERM HUP

# Runs a command inside a namespace, bounded in time. --foreground keeps it in the demo's
# process group, so Ctrl-C reaches it too and the demo cleans up at once (timeout would
# put it in a group of its own, and bash runs the INT trap only after it has finished).
in_ns() { local ns=$1 secs=$2; shift 2; timeout --foreground -k 2 "$secs" ip netns exec "$ns" "$@"; }

step "Two network namespaces: a server and a client on one virtual cable"
say "The server is $NS_S (192.0.2.1, 2001:db8:1::1), the client $NS_C (192.0.2.2," \
    "2001:db8:1::2). The veth pair is created inside the server namespace with its other" \
    "end born in the client's, so the root namespace never sees an interface of ours."
ip netns add "$NS_S"
ip netns add "$NS_C"
ip -n "$NS_S" link add eth0 type veth peer name eth0 netns "$NS_C"
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" addr add 192.0.2.1/24 dev eth0
ip -n "$NS_C" addr add 192.0.2.2/24 dev eth0
ip -n "$NS_S" -6 addr add 2001:db8:1::1/64 dev eth0 nodad
ip -n "$NS_C" -6 addr add 2001:db8:1::2/64 dev eth0 nodad
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set eth0 up; done
ok "namespaces up"

step "A shared secret, the otpknockd config, and a throwaway ssh key"
say "Both sides hold the same 160-bit secret (a 0600 file, never on a command line). The" \
    "server protects tcp/22; a valid knock opens it for the knocking address for 20 s," \
    "knock sequences are 3 UDP ports that change every 30 s and work once."
install -d -m 700 "$TMP/bin" "$TMP/state" "$TMP/xdg"
( umask 077; head -c 20 /dev/urandom | base32 > "$TMP/demo.secret" )
cat > "$TMP/otpknockd.yaml" <<EOF
table: otpknock
state_dir: $TMP/state
skew: 1
step_timeout: 2s
knock: { method: time, length: 3, period: 30, range: 10000-65000 }
services:
  ssh: { port: 22, open_for: 20s }
users:
  demo:
    secret_file: $TMP/demo.secret
EOF
chmod 600 "$TMP/otpknockd.yaml"
shown "" "ssh-keygen -t ed25519 -N '' -f $TMP/id_demo"
ssh-keygen -q -t ed25519 -N '' -C otpknock-demo -f "$TMP/id_demo"
ssh-keygen -q -t ed25519 -N '' -C otpknock-demo-host -f "$TMP/host_ed25519"
cp "$TMP/id_demo.pub" "$TMP/authorized_keys"
chmod 600 "$TMP/authorized_keys"
# `knock` on PATH for ssh's ProxyCommand: the built bundle, run by this Node.
printf '#!/bin/sh\nexec %q %q "$@"\n' "$NODE" "$KNOCK" > "$TMP/bin/knock"
chmod 755 "$TMP/bin/knock"
export PATH="$TMP/bin:$PATH" XDG_CONFIG_HOME="$TMP/xdg" XDG_STATE_HOME="$TMP/xdg/state"
ok "secret, config, keys in $TMP"

step "Server: otpknockd loads its nftables table (inside $NS_S only)"
shown server "otpknockd run --config $TMP/otpknockd.yaml"
ip netns exec "$NS_S" "$NODE" "$OTPKNOCKD" run --config "$TMP/otpknockd.yaml" --log-format text > "$TMP/otpknockd.log" 2>&1 &
PIDS+=($!)
loaded=0
for _ in $(seq 1 50); do
  kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$TMP/otpknockd.log" >&2; die "otpknockd exited at start"; }
  if in_ns "$NS_S" 5 nft list table inet otpknock >/dev/null 2>&1; then loaded=1; break; fi
  sleep 0.2
done
[ "$loaded" = 1 ] || { cat "$TMP/otpknockd.log" >&2; die "otpknockd did not load its table within 10 s"; }
sed 's/^/   | /' "$TMP/otpknockd.log"
ok "table inet otpknock loaded: tcp/22 is dropped unless a knock opened it"

step "Server: a real OpenSSH sshd on port 22, key authentication only"
cat > "$TMP/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey $TMP/host_ed25519
AuthorizedKeysFile $TMP/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PidFile none
LogLevel INFO
EOF
# sshd wants its privilege separation directory (Debian's package makes it at boot).
[ -d /run/sshd ] || install -d -m 755 /run/sshd
shown server "$SSHD -D -e -f $TMP/sshd_config"
ip netns exec "$NS_S" "$SSHD" -D -e -f "$TMP/sshd_config" > "$TMP/sshd.log" 2>&1 &
PIDS+=($!)
up=0
for _ in $(seq 1 50); do
  kill -0 "${PIDS[1]}" 2>/dev/null || { cat "$TMP/sshd.log" >&2; die "sshd exited at start"; }
  grep -q 'Server listening' "$TMP/sshd.log" && { up=1; break; }
  sleep 0.1
done
[ "$up" = 1 ] || { cat "$TMP/sshd.log" >&2; die "sshd did not start listening within 5 s"; }
ok "sshd listening (pid ${PIDS[1]})"

step "Client: an ssh config and a knock profile"
cat > "$TMP/ssh_config" <<EOF
Host demo-server
    HostName 192.0.2.1
    User root
    IdentityFile $TMP/id_demo
    IdentitiesOnly yes
    UserKnownHostsFile $TMP/known_hosts
    StrictHostKeyChecking accept-new
    BatchMode yes
    ConnectTimeout 3
    LogLevel ERROR
EOF
PROFILE=$TMP/profiles.json
say "The profile says where to knock and holds the secret (read from the 0600 file):"
shown client "knock --config $PROFILE add demo-server --address 192.0.2.1 --period 30 --secret-file $TMP/demo.secret"
in_ns "$NS_C" 10 knock --config "$PROFILE" add demo-server --address 192.0.2.1 --period 30 --secret-file "$TMP/demo.secret" 2>&1 | sed 's/^/   | /'
say "ssh_config ($TMP/ssh_config) has Host demo-server -> HostName 192.0.2.1, the key, BatchMode."

step "Without a knock, the server is silent: ssh times out"
say "The server's firewall drops the SYN to port 22 — no answer at all, as if nothing was there."
shown client "ssh -F $TMP/ssh_config demo-server echo ok"
t0=$(date +%s%N)
if in_ns "$NS_C" 15 ssh -F "$TMP/ssh_config" demo-server echo ok > "$TMP/plain.out" 2>&1; then
  cat "$TMP/plain.out"; die "ssh connected without a knock: the port should be closed"
fi
sed 's/^/   | /' "$TMP/plain.out"
ok "no connection after $(( ($(date +%s%N) - t0) / 1000000 )) ms (ConnectTimeout 3 s)"

step "What would be knocked now (knock print sends nothing)"
shown client "knock --config $PROFILE print demo-server"
in_ns "$NS_C" 10 knock --config "$PROFILE" print demo-server | sed 's/^/   | /'
say "The same secret on the server derived the same ports; in 30 s they are different ones."

step "ssh with knock as its ProxyCommand: knock, connect, carry the session"
say "knock sends the 3 UDP datagrams, waits until port 22 accepts, and then pipes ssh's" \
    "stdin/stdout through that connection. Nothing else is needed: no nc, no sleep."
REMOTE='echo "ok: logged in as $(id -un), session pid $$"'
shown client "ssh -F $TMP/ssh_config -o ProxyCommand='knock --config $PROFILE proxy %h %p' demo-server '$REMOTE'"
t0=$(date +%s%N)
out=$(in_ns "$NS_C" 20 ssh -F "$TMP/ssh_config" -o "ProxyCommand=knock --config $PROFILE proxy %h %p" demo-server \
  "$REMOTE" 2> "$TMP/proxy.err") || { cat "$TMP/proxy.err" >&2; die "ssh through knock proxy failed"; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
printf '   | %s\n' "$out"
[[ "$out" == ok:* ]] || die "unexpected output from the ssh session: $out"
ok "connected and ran a command (knock + ssh handshake + command: $ms ms)"

step "knock close: the address is shut again for new connections"
shown client "knock --config $PROFILE close demo-server"
in_ns "$NS_C" 10 knock --config "$PROFILE" close demo-server 2>&1 | sed 's/^/   | /'
shown client "ssh -F $TMP/ssh_config -o ConnectTimeout=2 demo-server echo ok"
if in_ns "$NS_C" 15 ssh -F "$TMP/ssh_config" -o ConnectTimeout=2 demo-server echo ok > "$TMP/closed.out" 2>&1; then
  die "ssh still connected after knock close"
fi
sed 's/^/   | /' "$TMP/closed.out"
ok "closed (established sessions would have stayed up)"

step "knock HOST && ssh HOST: the two-step form, with the knock shown (-v)"
say "The first sequence of this window was used up by the proxy above and the server accepts" \
    "each sequence once, so knock takes the next window's (the server accepts one window of" \
    "clock skew either way)."
shown client "knock --config $PROFILE -v demo-server && ssh -F $TMP/ssh_config demo-server uname -sr"
rc=0; out=$(in_ns "$NS_C" 45 knock --config "$PROFILE" -v demo-server 2>&1) || rc=$?
printf '%s\n' "$out" | sed 's/^/   | /'
[ "$rc" = 0 ] || die "knock demo-server did not open the port (exit $rc)"
out=$(in_ns "$NS_C" 15 ssh -F "$TMP/ssh_config" demo-server uname -sr 2> "$TMP/ssh2.err") || { cat "$TMP/ssh2.err" >&2; die "ssh after knock failed"; }
printf '   | %s\n' "$out"
ok "knocked, then plain ssh connected"

step "What the server saw"
say "sshd's log: the key logins, each after a knock. Then otpknockd status: what the kernel" \
    "counted, the address that is open now and for how long, the recent opens and closes."
grep -E 'Accepted publickey' "$TMP/sshd.log" | sed 's/^/   | sshd: /' || true
in_ns "$NS_S" 10 "$NODE" "$OTPKNOCKD" status --config "$TMP/otpknockd.yaml" 2>&1 | sed 's/^/   | /' | head -20 || true

printf '\n%sDemo complete: ssh could not even see the server until knock opened it for one address.%s\n' "$G" "$N"
