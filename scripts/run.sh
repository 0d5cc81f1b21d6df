#!/usr/bin/env bash
# Start the embedded profile: action server, Rasa server (REST + socket.io, SQLite tracker
# store) and the web server with the widget demo and the kiosk.
#   scripts/run.sh              foreground; Ctrl-C stops everything
#   scripts/run.sh --background start, wait until ready, return (scripts/stop.sh stops)
# Settings (environment): RASA_PORT (5005) ACTIONS_PORT (5055) WEB_PORT (8080)
#   BIND (127.0.0.1; 0.0.0.0 to serve a kiosk on the clinic network) RUN_DIR (run)
#   MODEL (newest models/*.tar.gz) CLINIC_PROFILE (clinic/profile.yml) TRACKER_DB
#   CORS_ORIGINS (the web server's own origins) LOG_LEVEL (INFO)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
WEB_PORT=${WEB_PORT:-8080}
BIND=${BIND:-127.0.0.1}
RUN_DIR=${RUN_DIR:-run}
export LOG_LEVEL=${LOG_LEVEL:-INFO}   # read by Rasa and rasa_sdk
VENV=${VENV:-.venv}
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)

export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}
# Shared by the action server (checks it) and Rasa (sends it); a fresh one per start.
export ACTION_SERVER_TOKEN=${ACTION_SERVER_TOKEN:-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))')}
export TRACKER_DB=${TRACKER_DB:-$RUN_DIR/tracker.db}
export CLINIC_PROFILE=${CLINIC_PROFILE:-$ROOT/clinic/profile.yml}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
CORS_ORIGINS=${CORS_ORIGINS:-http://localhost:$WEB_PORT http://127.0.0.1:$WEB_PORT}
MODEL=${MODEL:-$(ls -t models/*.tar.gz 2>/dev/null | head -n 1 || true)}
if [ -z "$MODEL" ] || [ ! -f "$MODEL" ]; then
  echo "No trained model in models/: run 'make train' (or 'make run', which trains)." >&2
  exit 1
fi

start() { # name, command...
  local name=$1; shift
  if [ -f "$RUN_DIR/$name.pid" ] && kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then
    echo "$name is already running (pid $(cat "$RUN_DIR/$name.pid"))"; return 0
  fi
  setsid "$@" >"$RUN_DIR/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

wait_for() { # name, url, seconds
  local name=$1 url=$2 limit=$3 i
  for ((i = 0; i < limit; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then
      echo "$name exited while starting; last lines of $RUN_DIR/$name.log:" >&2
      tail -n 30 "$RUN_DIR/$name.log" >&2
      return 1
    fi
    sleep 1
  done
  echo "$name did not answer at $url within ${limit}s (log: $RUN_DIR/$name.log)" >&2
  return 1
}

# shellcheck disable=SC2086
# serving/action_server.py (not `rasa run actions`): loopback only, errors without the
# tracker, ACTION_SERVER_TOKEN checked when set (the Rasa server then sends it).
SANIC_HOST=127.0.0.1 start actions "$VENV/bin/python" -m serving.action_server --actions actions --port "$ACTIONS_PORT"
start rasa "$VENV/bin/rasa" run --model "$MODEL" --port "$RASA_PORT" --interface "$BIND" \
  --credentials credentials.yml --endpoints endpoints.yml --cors $CORS_ORIGINS
if [ -f web/serve.py ]; then
  start web "$VENV/bin/python" web/serve.py --port "$WEB_PORT" --bind "$BIND" \
    --rasa-url "http://${PUBLIC_HOST:-localhost}:$RASA_PORT"
fi

wait_for actions "http://127.0.0.1:$ACTIONS_PORT/health" 120
wait_for rasa "http://127.0.0.1:$RASA_PORT/webhooks/rest/" 240
[ -f web/serve.py ] && wait_for web "http://127.0.0.1:$WEB_PORT/" 30

cat <<MSG
Ready.
  Website widget demo : http://localhost:$WEB_PORT/
  Front-desk kiosk    : http://localhost:$WEB_PORT/kiosk
  REST channel        : POST http://localhost:$RASA_PORT/webhooks/rest/webhook  {"sender": "<uuid>", "message": "..."}
  socket.io channel   : http://localhost:$RASA_PORT/socket.io
  Logs                : $RUN_DIR/*.log
MSG

if [ "${1:-}" = "--background" ]; then exit 0; fi
echo "Press Ctrl-C to stop."
trap 'echo; RUN_DIR="$RUN_DIR" scripts/stop.sh; exit 0' INT TERM
while sleep 5; do
  for name in actions rasa; do
    if ! kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then
      echo "$name stopped; see $RUN_DIR/$name.log" >&2
    fi
  done
done
