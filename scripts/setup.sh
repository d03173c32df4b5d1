#!/usr/bin/env bash
# Sets up everything from a fresh clone on a machine with only python3, node and npm:
# uv (from PyPI), the locked Python environment (uv.lock) and the front-end bundle.
# Sourced by scripts/start and scripts/test; defines $UV for them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "==> installing uv" >&2
    python3 -m pip install --quiet --user uv 2>/dev/null \
      || python3 -m pip install --quiet --user --break-system-packages uv 2>/dev/null \
      || python3 -m pip install --quiet uv
  fi
  UV=(python3 -m uv)
fi

echo "==> building the front end (npm ci && npm run build)" >&2
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

echo "==> syncing the Python environment from uv.lock" >&2
"${UV[@]}" sync --frozen --quiet
