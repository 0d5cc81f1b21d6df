#!/usr/bin/env bash
# Start the embedded profile: the Procfile's action server, Rasa server (REST + socket.io,
# SQLite tracker store), web server (widget demo, kiosk) and daily log rotation.
#   scripts/run.sh              honcho in the foreground; Ctrl-C stops everything
#   scripts/run.sh --background the same Procfile under supervisord; returns when ready
#                               (scripts/stop.sh stops it, scripts/stop.sh rasa one process)
# Both wait until every server answers, then print the addresses and the allowed origins.
# Settings (environment): RASA_PORT (5005) ACTIONS_PORT (5055) WEB_PORT (8080)
#   BIND (127.0.0.1; 0.0.0.0 serves Rasa and the web server to the clinic network - the
#   action server stays on 127.0.0.1 whatever BIND says) RUN_DIR (run, mode 0700)
#   LOG_DIR (RUN_DIR) RETENTION_DAYS (30: logs are kept as long as conversations)
#   MODEL (models/gluteus-assistant.tar.gz, else the newest) CLINIC_PROFILE (clinic/profile.yml)
#   WEBSITE_ORIGINS (space-separated; added to the clinic profile's website_origins and the
#   assistant's own origins: `python -m assistant.origins`) PUBLIC_HOST TRACKER_DB
#   RASA_MAX_BODY (1000000 bytes) ACTIONS_MAX_BODY (1000000) ACTION_SERVER_TOKEN (fresh
#   per start) LOG_LEVEL (INFO) STAFF_TOKEN (unset: no staff pages; set, >= 16 characters:
#   the web server's /staff/insights, reading the tracker store TRACKER_DB / TRACKER_DB_URL)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=foreground
case "${1:-}" in
  --background) MODE=background ;;
  "") ;;
  *) echo "usage: scripts/run.sh [--background]" >&2; exit 2 ;;
esac

# Everything this stack writes (tracker.db, logs, supervisord's socket) is for its user only.
umask 077
export VENV=${VENV:-.venv}
export RASA_PORT=${RASA_PORT:-5005} ACTIONS_PORT=${ACTIONS_PORT:-5055} WEB_PORT=${WEB_PORT:-8080}
export BIND=${BIND:-127.0.0.1}
RUN_DIR=${RUN_DIR:-run}
mkdir -p "$RUN_DIR" && chmod 700 "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
export RUN_DIR LOG_DIR=${LOG_DIR:-$RUN_DIR}
mkdir -p "$LOG_DIR" && chmod 700 "$LOG_DIR"
export RETENTION_DAYS=${RETENTION_DAYS:-30}
export LOG_LEVEL=${LOG_LEVEL:-INFO}   # read by Rasa and the action server
export PYTHONUNBUFFERED=1             # the Procfile's lines go through `tee`: no block buffering
export RASA_TELEMETRY_ENABLED=false
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Request bodies: a REST message is at most a few kB (the channel's own limit is 1 MB);
# an action request carries the conversation's tracker.
export RASA_MAX_BODY=${RASA_MAX_BODY:-1000000} ACTIONS_MAX_BODY=${ACTIONS_MAX_BODY:-1000000}
export ACTIONS_COMMAND="$VENV/bin/python -m serving.action_server --actions actions --host 127.0.0.1"
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}
# Shared by the action server (checks it) and Rasa (sends it); a fresh one per start.
export ACTION_SERVER_TOKEN=${ACTION_SERVER_TOKEN:-$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))')}
export TRACKER_DB=${TRACKER_DB:-$RUN_DIR/tracker.db}
export CLINIC_PROFILE=${CLINIC_PROFILE:-$ROOT/clinic/profile.yml}
export PUBLIC_RASA_URL=${PUBLIC_RASA_URL:-http://${PUBLIC_HOST:-localhost}:$RASA_PORT}

# One origins setting (assistant/origins.py) feeds Rasa's --cors and the socket.io check.
# The old CORS_ORIGINS variable now adds to it instead of replacing the defaults.
if [ -n "${CORS_ORIGINS:-}" ]; then
  export WEBSITE_ORIGINS="${WEBSITE_ORIGINS:-} $CORS_ORIGINS"
fi
if ! CORS_ORIGINS=$("$VENV/bin/python" -m assistant.origins); then
  echo "Not started: fix the origin above (clinic profile website_origins or WEBSITE_ORIGINS)." >&2
  exit 2
fi
export CORS_ORIGINS

MODEL=${MODEL:-$( { ls models/gluteus-assistant.tar.gz || ls -t models/*.tar.gz; } 2>/dev/null | head -n 1 || true)}
if [ -z "$MODEL" ] || [ ! -f "$MODEL" ]; then
  echo "No trained model in models/: run 'make train' (or 'make run', which trains)." >&2
  exit 1
fi
export MODEL

SUPERVISOR_CONF="$RUN_DIR/supervisord.conf"
alive() { # name: is the process still up?
  if [ "$MODE" = foreground ]; then kill -0 "$HONCHO" 2>/dev/null
  else "$VENV/bin/supervisorctl" -c "$SUPERVISOR_CONF" status "$1" | grep -qE 'RUNNING|STARTING'; fi
}

wait_for() { # name, url, seconds
  local name=$1 url=$2 limit=$3 i
  for ((i = 0; i < limit; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    if ! alive "$name"; then
      echo "$name exited while starting; last lines of $LOG_DIR/$name.log:" >&2
      tail -n 30 "$LOG_DIR/$name.log" >&2 || true
      return 1
    fi
    sleep 1
  done
  echo "$name did not answer at $url within ${limit}s (log: $LOG_DIR/$name.log)" >&2
  return 1
}

wait_ready() {
  wait_for actions "http://127.0.0.1:$ACTIONS_PORT/health" 120 &&
  wait_for rasa "http://127.0.0.1:$RASA_PORT/webhooks/rest/" 240 &&
  wait_for web "http://127.0.0.1:$WEB_PORT/healthz" 30
}

ready_message() {
  cat <<MSG
Ready.
  Website widget demo : http://localhost:$WEB_PORT/
  Front-desk kiosk    : http://localhost:$WEB_PORT/kiosk
  REST channel        : POST http://localhost:$RASA_PORT/webhooks/rest/webhook  {"sender": "<uuid>", "message": "..."}
  socket.io channel   : http://localhost:$RASA_PORT/socket.io
  Action server       : http://127.0.0.1:$ACTIONS_PORT (loopback only)
  Allowed web origins : $CORS_ORIGINS
                        (add your website: website_origins in the clinic profile, or WEBSITE_ORIGINS)
  Logs                : $LOG_DIR/*.log (rotated daily, kept $RETENTION_DAYS days)
MSG
  if [ -n "${STAFF_TOKEN:-}" ]; then
    echo "  Staff insights      : http://localhost:$WEB_PORT/staff/insights  (sign in with STAFF_TOKEN)"
  fi
}

if [ "$MODE" = background ]; then
  "$VENV/bin/python" deploy/supervise.py procfile-conf --procfile Procfile --dir "$RUN_DIR" --log-dir "$LOG_DIR" >/dev/null
  if "$VENV/bin/supervisorctl" -c "$SUPERVISOR_CONF" pid >/dev/null 2>&1; then
    "$VENV/bin/supervisorctl" -c "$SUPERVISOR_CONF" start all >/dev/null || true   # after `stop.sh NAME`
  else
    "$VENV/bin/supervisord" -c "$SUPERVISOR_CONF"
  fi
  sleep 1
  if ! wait_ready; then
    echo "Stopping what started (scripts/stop.sh)." >&2
    scripts/stop.sh >&2 || true
    exit 1
  fi
  ready_message
  echo "  Stop                : make stop  (one process: scripts/stop.sh rasa)"
  exit 0
fi

# Foreground: honcho runs the Procfile; this script only waits, prints and passes Ctrl-C on.
"$VENV/bin/honcho" start -f Procfile -d "$ROOT" &
HONCHO=$!
trap 'kill -TERM "$HONCHO" 2>/dev/null || true' INT TERM
if wait_ready; then
  ready_message
  echo "  Stop                : Ctrl-C"
else
  kill -TERM "$HONCHO" 2>/dev/null || true
fi
status=0
wait "$HONCHO" || status=$?
# A trapped signal interrupts `wait`: wait again for honcho to finish stopping its processes.
while kill -0 "$HONCHO" 2>/dev/null; do wait "$HONCHO" || status=$?; done
exit "$status"
