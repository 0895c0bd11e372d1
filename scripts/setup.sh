#!/usr/bin/env bash
# Installs what a fresh Debian machine with Node and root lacks, then the
# workspace's dependencies and a build. Idempotent: quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_apt+=(openssh-client)
# The audit reader (NFLOG over netlink) is a small stdlib-only python3 script.
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# The adversarial e2e suite scans the knock range with nmap -sU (a scripted sweep without it).
command -v nmap >/dev/null 2>&1 || need_apt+=(nmap)
# packaging/systemd-check.sh boots a Debian 12 rootfs (built by mmdebstrap) under
# systemd-nspawn to run the unit under a real systemd.
command -v systemd-nspawn >/dev/null 2>&1 || need_apt+=(systemd-container)
command -v mmdebstrap >/dev/null 2>&1 || need_apt+=(mmdebstrap)
# test/gateway-docker.e2e.test.ts loads Docker's published-port ruleset with iptables-nft-restore.
command -v iptables-nft-restore >/dev/null 2>&1 || need_apt+=(iptables)
# The fleet e2e test and bench run a real 3-member etcd cluster in namespaces (Debian's etcd 3.4).
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need_apt+=(etcd-client)
# It runs that cluster with TLS: openssl makes its CA and certificates.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# packaging/build-deb.sh (run by systemd-check.sh) builds the .debs with Debian's
# tooling and checks them with lintian.
command -v dpkg-buildpackage >/dev/null 2>&1 || need_apt+=(dpkg-dev)
command -v dh >/dev/null 2>&1 || need_apt+=(debhelper)
command -v lintian >/dev/null 2>&1 || need_apt+=(lintian)
# The unit tests render the man pages (groff) and try the zsh completion (zsh).
command -v groff >/dev/null 2>&1 || need_apt+=(groff-base)
command -v zsh >/dev/null 2>&1 || need_apt+=(zsh)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The package starts a system etcd on 127.0.0.1:2379; the tests start members of their
  # own in namespaces and need none, so the one just installed is stopped and disabled.
  if [[ " ${need_apt[*]} " == *" etcd-server "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi

if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm with npm" >&2
  npm install -g pnpm@9.15.9 >/dev/null
fi

# Quick when all is there, and then writing nothing: the demo and the test command run it
# again inside a tree that is already built (CI runs the demo inside its e2e suite), where a
# reinstall would rewrite node_modules/.bin and the client's code cache, and a rebuild the
# bundles, under tests that run them.
if cmp -s pnpm-lock.yaml node_modules/.pnpm/lock.yaml; then
  echo "setup: dependencies up to date (node_modules was installed from this pnpm-lock.yaml)"
else
  pnpm install --frozen-lockfile --reporter=silent
fi
node scripts/build.mjs --if-changed
