#!/usr/bin/env bash
# Stop what `scripts/run.sh --background` started (same RUN_DIR), through supervisord:
#   scripts/stop.sh          stop every process and supervisord itself
#   scripts/stop.sh rasa     stop one process (`scripts/run.sh --background` starts it again)
# A foreground `make run` (honcho) is stopped with Ctrl-C in its terminal.
set -uo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${RUN_DIR:-run}
VENV=${VENV:-.venv}
conf="$RUN_DIR/supervisord.conf"
ctl() { "$VENV/bin/supervisorctl" -c "$conf" "$@"; }
if [ ! -f "$conf" ] || ! ctl pid >/dev/null 2>&1; then
  echo "nothing running in $RUN_DIR (a foreground make run stops with Ctrl-C)"
  exit 0
fi
if [ $# -gt 0 ]; then
  ctl stop "$@"
else
  ctl shutdown >/dev/null && echo "stopping the stack in $RUN_DIR"
  # supervisord stops its programs first, then removes its socket.
  for _ in $(seq 1 120); do [ -S "$RUN_DIR/supervisor.sock" ] || break; sleep 0.5; done
  echo "stopped"
fi
