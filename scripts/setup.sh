#!/bin/bash
# One-time set-up of a checkout: system packages, npm dependencies from the lockfile, build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build
echo "ready: node bin/natnet-hook --help"
