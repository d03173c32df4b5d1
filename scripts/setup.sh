#!/usr/bin/env bash
# Sets up everything from a fresh clone on a machine with only python3, node and npm:
# a pinned uv, the locked Python environment (uv.lock) and the front-end bundle.
# Sourced by scripts/start and scripts/test.
#
# This is the one place that decides which uv runs: uv ${UV_VERSION}, installed once into the
# project's own git-ignored .tools/uv (a venv made by python3, so no --user install and no
# system site-packages are touched). Its absolute path is exported as $UV, so every child
# process (the test suite, a nested scripts/start, a packaging test) runs the same binary,
# whatever python3 or PATH it sees. A uv already on PATH is not used.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

UV_VERSION="0.13.9"
UV_HOME="$PWD/.tools/uv"
UV="$UV_HOME/bin/uv"

if [ "$("$UV" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "==> installing uv ${UV_VERSION} into .tools/uv" >&2
  rm -rf "$UV_HOME"
  python3 -m venv "$UV_HOME"   # from a venv's python3 too: venv and ensurepip are stdlib
  "$UV_HOME/bin/python" -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
  "$UV" --version >/dev/null
fi
export UV

echo "==> building the front end (npm ci && npm run build)" >&2
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

echo "==> syncing the Python environment from uv.lock" >&2
"$UV" sync --frozen --quiet
