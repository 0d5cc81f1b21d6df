#!/usr/bin/env bash
# Create the project's virtual environment (.venv) with Python 3.10 and install the
# pinned dependencies. Idempotent: re-installs only when a requirements file changed.
# Rasa Open Source 3.6 supports Python 3.8-3.10 only, so 3.11+ is refused.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}

find_python() {
  local candidates=()
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
  candidates+=(python3.10)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.10*/bin/python3.10)
  fi
  candidates+=("$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10)
  local c
  for c in "${candidates[@]}"; do
    # pyenv shims exist even when the version is not selected; so run it, don't just look.
    if "$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
      echo "$c"; return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python); then
    cat >&2 <<'MSG'
ERROR: Python 3.10 was not found.
Rasa Open Source 3.6.21 runs on Python 3.8-3.10 only, and this project pins 3.10.
Install it (for example `pyenv install 3.10` or your distribution's python3.10 package)
or point PYTHON at it:  make run PYTHON=/path/to/python3.10
MSG
    exit 1
  fi
  echo "Creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

# Two stamps: the runtime (what `make run` needs: requirements.txt) and the full set (plus
# requirements-dev.txt: tests, evaluation, benchmarks, quality gates). `--runtime` installs
# only the first, so a first `make run` on a fresh machine does not wait for the test tools.
runtime_stamp="$VENV/.runtime.sha"
stamp="$VENV/.requirements.sha"
runtime_want=$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
want=$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1)

pip_install() {
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade 'pip==24.0'
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@" -c constraints.txt
}

if [ "${1:-}" = "--runtime" ]; then
  if [ "$(cat "$runtime_stamp" 2>/dev/null)" != "$runtime_want" ]; then
    echo "Installing the pinned runtime dependencies into $VENV (a few minutes the first time)"
    pip_install -r requirements.txt
    echo "$runtime_want" > "$runtime_stamp"
  else
    touch "$runtime_stamp"
  fi
  exit 0
fi

if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing pinned dependencies (runtime, tests, tools) into $VENV (a few minutes the first time)"
  pip_install -r requirements.txt -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
echo "$runtime_want" > "$runtime_stamp"
