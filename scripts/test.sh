#!/usr/bin/env bash
# The README's test command: set-up, typecheck, lint, unit and end-to-end tests,
# and the systemd unit under a real systemd (packaging/systemd-check.sh).
# End-to-end tests need root and nft; without them they skip loudly, unless
# OTPKNOCK_E2E=required (CI), where a skip is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm typecheck
pnpm lint
pnpm exec vitest run
# The unit under a real systemd: a Debian 12 container booted with systemd-nspawn
# (the rootfs is built once with mmdebstrap, from Debian's mirrors, and cached).
if [ "$(id -u)" = 0 ]; then
  bash packaging/systemd-check.sh
elif [ "${OTPKNOCK_E2E:-}" = required ]; then
  echo "test: OTPKNOCK_E2E=required, but packaging/systemd-check.sh needs root" >&2
  exit 1
else
  echo "test: SKIPPED packaging/systemd-check.sh (the unit under a real systemd): needs root" >&2
fi
