#!/usr/bin/env bash
# The README's test command: set-up, typecheck, lint, unit and end-to-end tests.
# End-to-end tests need root and nft; without them they skip loudly, unless
# OTPKNOCK_E2E=required (CI), where a skip is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm typecheck
pnpm lint
pnpm exec vitest run
