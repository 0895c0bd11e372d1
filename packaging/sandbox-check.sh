#!/bin/bash
# Runs `otpknockd run` under an approximation of the sandbox of
# packaging/otpknockd.service, for machines (containers, CI) without systemd as
# PID 1, where `systemctl start` and `systemd-run` are not available:
#
#   unit setting                         approximated here by
#   CapabilityBoundingSet/Ambient…=NET_ADMIN  setpriv: bounding, inheritable, ambient = cap_net_admin
#   NoNewPrivileges=yes                  setpriv --no-new-privs
#   SystemCallFilter=@system-service ~@privileged @resources, SystemCallErrorNumber=EPERM
#                                        seccomp (python3-seccomp): the same allow list, expanded
#                                        with `systemd-analyze syscall-filter`, default EPERM
#   RestrictAddressFamilies=AF_UNIX AF_NETLINK
#                                        seccomp: socket() with any other family fails (EAFNOSUPPORT)
#   ProtectSystem=strict, ReadWritePaths/StateDirectory
#                                        a mount namespace: every mount read-only, the state dir writable
#   ProtectHome=yes, PrivateTmp=yes      empty tmpfs over /home, /root, /run/user, /tmp, /var/tmp
#   PrivateDevices=yes                   a tmpfs /dev with null, zero, full, random, urandom, tty
#   ProtectKernelTunables=yes            /sys read-only (part of "every mount"); /proc/sys hidden
#   ProtectProc=invisible, ProcSubset=pid  a new /proc mounted with hidepid=invisible,subset=pid
#   Environment, PATH                    env -i with systemd's default PATH
#
# Not approximated: ProtectKernelModules/Logs, ProtectClock,
# ProtectControlGroups, RestrictNamespaces, RestrictRealtime, RestrictSUIDSGID,
# LockPersonality, RemoveIPC, SystemCallArchitectures, UMask, the unit's ordering.
#
# Everything happens in a throw-away network namespace (never the host's
# firewall) and a throw-away directory; both are removed at the end, also on failure.
#
# Usage (as root): packaging/sandbox-check.sh [path/to/otpknockd.js]
#   default: packages/server/dist/otpknockd.js (run `pnpm build` first)
# Needs: ip, nft, node, setpriv, unshare (util-linux), python3 with seccomp
# (apt-get install python3-seccomp), systemd-analyze. Exit 0 when the daemon loaded
# its table and the audit reader bound its NFLOG group inside the sandbox.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
js=$(realpath "${1:-$here/../packages/server/dist/otpknockd.js}")
[ "$(id -u)" = 0 ] || { echo "sandbox-check: run as root" >&2; exit 2; }
[ -f "$js" ] || { echo "sandbox-check: $js not found; run pnpm build first" >&2; exit 2; }
for tool in ip nft setpriv unshare systemd-analyze /usr/bin/node /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "sandbox-check: $tool is missing" >&2; exit 2; }
done
/usr/bin/python3 -c 'import seccomp' 2>/dev/null || { echo "sandbox-check: python3 seccomp module missing: apt-get install python3-seccomp" >&2; exit 2; }

ns="okdsb$$"
table="okdsb$$"
# Not under /tmp: the sandbox gets a private /tmp, like PrivateTmp=yes.
dir=$(mktemp -d /var/lib/okdsb.XXXXXX)
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the files of an installed server, in miniature ---------------------------
install -d -m 0700 "$dir/etc" "$dir/etc/secrets" "$dir/state"
install -d -m 0755 "$dir/lib"
install -m 0755 "$js" "$dir/lib/otpknockd.js"
install -m 0644 "$(dirname "$js")/nflog-reader.py" "$dir/lib/nflog-reader.py"
( umask 077; head -c 20 /dev/urandom | base32 > "$dir/etc/secrets/alice" )
( umask 077; cat > "$dir/etc/otpknockd.yaml" <<EOF
table: $table
state_dir: $dir/state
keep_table_on_stop: false   # so that the check sees SIGTERM remove it
log_format: json
services:
  ssh: { port: 22 }
knock: { period: 2 }    # rotations every 2 s, so that the check sees some
users:
  alice: { secret_file: secrets/alice }
EOF
)

# --- the seccomp allow list: what systemd would compute for the unit ----------
python_filter="$dir/lib/seccomp-exec.py"
cat > "$python_filter" <<'EOF'
import errno, os, subprocess, sys
import seccomp

def expand(group, seen=None):
    seen = set() if seen is None else seen
    out = set()
    text = subprocess.run(['systemd-analyze', 'syscall-filter', group], check=True, capture_output=True, text=True).stdout
    for line in text.splitlines()[1:]:
        name = line.strip()
        if not name or name.startswith('#'):
            continue
        if name.startswith('@'):
            if name not in seen:
                seen.add(name)
                out |= expand(name, seen)
        else:
            out.add(name)
    return out

allow = expand('@system-service') - expand('@privileged') - expand('@resources')
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
for name in sorted(allow - {'socket'}):
    try:
        f.add_rule(seccomp.ALLOW, name)
    except (RuntimeError, ValueError, OSError):
        pass  # not a syscall of this architecture
# RestrictAddressFamilies=AF_UNIX AF_NETLINK (systemd answers EAFNOSUPPORT)
families = {1, 16}
for fam in range(0, 46):
    action = seccomp.ALLOW if fam in families else seccomp.ERRNO(errno.EAFNOSUPPORT)
    f.add_rule(action, 'socket', seccomp.Arg(0, seccomp.EQ, fam))
sys.stderr.write(f'sandbox-check: seccomp: {len(allow)} syscalls allowed, socket() only for AF_UNIX and AF_NETLINK\n')
f.load()
os.execv(sys.argv[1], sys.argv[1:])
EOF

# --- the network namespace: the daemon's table goes there, never into the host's
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 192.0.2.1/24 dev lo

# --- the mount namespace, then caps, then seccomp, then the daemon -------------
inner="$dir/lib/inner.sh"
cat > "$inner" <<'EOF'
set -eu
dir=$1; shift
# ProtectSystem=strict (+ ProtectKernelTunables): every mount read-only ...
mount --make-rprivate /
for mp in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
  case "$mp" in /proc|/proc/*) continue ;; esac
  mount -o remount,bind,ro "$mp" 2>/dev/null || true
done
# ... except the state dir (StateDirectory=, ReadWritePaths=).
mount --bind "$dir/state" "$dir/state"
mount -o remount,bind,rw "$dir/state"
# ProtectHome=yes, PrivateTmp=yes
for d in /home /root /run/user /tmp /var/tmp; do [ -d "$d" ] && mount -t tmpfs -o mode=0755 tmpfs "$d"; done
# PrivateDevices=yes
mkdir -p /tmp/dev && mount -t tmpfs -o mode=0755 tmpfs /tmp/dev
for n in null zero full random urandom tty; do touch "/tmp/dev/$n"; mount --bind "/dev/$n" "/tmp/dev/$n"; done
mount --rbind /tmp/dev /dev
# ProtectProc=invisible, ProcSubset=pid: a /proc of our own with only process directories
mount -t proc -o subset=pid,hidepid=invisible proc /proc
cd /   # WorkingDirectory= defaults to /
exec "$@"
EOF

# The sandbox itself, probed by a process inside it (with the same chain as the daemon).
# Every step execs the next, so the daemon keeps the PID that "$!" reports.
# shellcheck disable=SC2054  # the commas belong to setpriv's capability lists
sandbox=(
  ip netns exec "$ns" unshare --mount --
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_ENV=production
  /bin/sh "$inner" "$dir"
  setpriv --bounding-set=-all,+net_admin --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --no-new-privs --
  /usr/bin/python3 "$python_filter"
)
cat > "$dir/lib/probe.py" <<'PROBE'
import os, socket, subprocess, sys
state = sys.argv[1]
results = []
def check(what, expect_ok, fn):
    try:
        fn(); ok = True; why = ''
    except Exception as e:
        ok = False; why = f' ({type(e).__name__}: {e})'
    results.append(ok == expect_ok)
    print(f"sandbox-check: probe: {what}: {'allowed' if ok else 'refused'}{why if not ok else ''} {'(as intended)' if ok == expect_ok else '(NOT AS INTENDED)'}")
check('write a file in /etc', False, lambda: open('/etc/okdsb-probe', 'w'))
check('write a file in /usr', False, lambda: open('/usr/okdsb-probe', 'w'))
check('write /proc/sys/net/ipv4/ip_forward (ProtectKernelTunables)', False, lambda: open('/proc/sys/net/ipv4/ip_forward', 'w').write('1'))
check('write a file in the state dir', True, lambda: (open(os.path.join(state, 'probe'), 'w').write('x'), os.unlink(os.path.join(state, 'probe'))))
check('see /root (ProtectHome)', False, lambda: None if os.listdir('/root') else (_ for _ in ()).throw(OSError('empty')))
check('open /dev/sda or any disk (PrivateDevices)', False, lambda: None if any(d.startswith(('sd', 'vd', 'nvme')) for d in os.listdir('/dev')) else (_ for _ in ()).throw(OSError('no disks in /dev')))
check('AF_NETLINK socket (nft, the NFLOG reader)', True, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12).close())
check('AF_UNIX socket', True, lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
check('AF_INET socket', False, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())
check('AF_PACKET socket', False, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close())
check('AF_INET6 socket', False, lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close())
check('chroot (@privileged, no CAP_SYS_CHROOT)', False, lambda: os.chroot('/'))
check('setpriority (@resources)', False, lambda: os.setpriority(os.PRIO_PROCESS, 0, -5))
check('nft list ruleset (CAP_NET_ADMIN)', True, lambda: subprocess.run(['nft', 'list', 'ruleset'], check=True, capture_output=True))
sys.exit(0 if all(results) else 1)
PROBE
probe_ok=yes
"${sandbox[@]}" /usr/bin/python3 "$dir/lib/probe.py" "$dir/state" || probe_ok=no

echo "sandbox-check: netns $ns, table inet $table, files in $dir"
"${sandbox[@]}" /usr/bin/node "$dir/lib/otpknockd.js" run --config "$dir/etc/otpknockd.yaml" \
  2> "$dir/daemon.log" &
daemon_pid=$!

# The unit's ExecStartPost (wait until this daemon has loaded the table), with this
# check's paths, run in the sandbox too, the way systemd runs it (with $MAINPID set):
# it must succeed once the table is in.
post=$(sed -n 's/^ExecStartPost=//p' "$here/otpknockd.service" | sed -e 's/\$\$/$/g' \
  -e "s#/usr/lib/otpknock/otpknockd.js#$dir/lib/otpknockd.js#g" -e "s#/etc/otpknock/otpknockd.yaml#$dir/etc/otpknockd.yaml#g")
ok_post=no
if [ -n "$post" ]; then
  post_cmd=$(printf '%s' "$post" | sed -e "s#^/bin/sh -c '##" -e "s#'\$##")
  "${sandbox[@]}" /usr/bin/env MAINPID="$daemon_pid" /bin/sh -c "$post_cmd" && ok_post=yes
fi

ok_table=no ok_audit=no
for _ in $(seq 100); do
  if ip netns exec "$ns" nft list table inet "$table" >/dev/null 2>&1; then ok_table=yes; fi
  if grep -q 'reading opens from NFLOG group' "$dir/daemon.log"; then ok_audit=yes; fi
  [ "$ok_table" = yes ] && [ "$ok_audit" = yes ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done

# A few rotations and a reload (SIGHUP), as under systemd (ExecReload=).
ok_rotation=no ok_reload=no
for _ in $(seq 60); do
  grep -q '"event":"rotation"' "$dir/daemon.log" && { ok_rotation=yes; break; }
  sleep 0.1
done
kill -HUP "$daemon_pid" 2>/dev/null || true
for _ in $(seq 50); do
  grep -q '"event":"reload"' "$dir/daemon.log" && { ok_reload=yes; break; }
  sleep 0.1
done
grep -q '"level":"error"' "$dir/daemon.log" && ok_reload=no

# What the sandboxed processes really had.
pids=$(ip netns pids "$ns" 2>/dev/null || true)
for p in $pids; do
  comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
  caps=$(awk '/^Cap(Eff|Bnd|Amb)/ {printf "%s %s  ", $1, $2}' "/proc/$p/status" 2>/dev/null)
  sec=$(awk '/^(Seccomp|NoNewPrivs):/ {printf "%s %s  ", $1, $2}' "/proc/$p/status" 2>/dev/null)
  echo "sandbox-check: pid $p $comm: $caps$sec"
done

ok_state=no
[ -s "$dir/state/daemon.json" ] && ok_state=yes

kill -TERM "$daemon_pid" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
ok_stop=no
if ! kill -0 "$daemon_pid" 2>/dev/null && ! ip netns exec "$ns" nft list table inet "$table" >/dev/null 2>&1; then ok_stop=yes; fi

echo "--- daemon log"
cat "$dir/daemon.log"
echo "---"
echo "sandbox-check: table loaded: $ok_table; audit reader bound NFLOG: $ok_audit; pid file written to the state dir: $ok_state; ExecStartPost saw the table: $ok_post; rotated: $ok_rotation; reloaded on SIGHUP: $ok_reload; SIGTERM removed the table: $ok_stop; probes as intended: $probe_ok"
[ "$probe_ok" = yes ] && [ "$ok_post" = yes ] && [ "$ok_rotation" = yes ] && [ "$ok_reload" = yes ] && [ "$ok_table" = yes ] && [ "$ok_audit" = yes ] && [ "$ok_state" = yes ] && [ "$ok_stop" = yes ]
