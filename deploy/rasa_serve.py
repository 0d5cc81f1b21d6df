"""`rasa run` with the HTTP API token taken from the environment instead of the command line.

A token passed as `--auth-token` shows up in `ps` for every user of the machine, so the
production profile starts Rasa through this wrapper: it takes the usual `rasa run`
arguments and, only when `--enable-api` is among them, adds the token from
`RASA_AUTH_TOKEN` inside the process. Without a token it refuses to enable the API.

    RASA_AUTH_TOKEN=... python deploy/rasa_serve.py run --enable-api --model ... --port ...
"""

import os
import sys


def main() -> None:
    args = sys.argv[1:]
    if "--auth-token" in args or "-t" in args:
        sys.exit("rasa_serve.py: pass the token in RASA_AUTH_TOKEN, not on the command line")
    if "--enable-api" in args:
        token = os.environ.get("RASA_AUTH_TOKEN", "")
        if len(token) < 16:
            sys.exit("rasa_serve.py: --enable-api needs RASA_AUTH_TOKEN (at least 16 characters)")
        args += ["--auth-token", token]
    sys.argv = ["rasa"] + args

    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
