"""A small stand-in for Rasa's REST channel, returning contract-shaped replies.

Only for developing the front ends without a trained model (`BROWSER_BACKEND=fake`); the
browser tests proper run against the real Rasa and action servers. Shapes follow
shared/reply-contract.md and what Rasa's CollectingOutputChannel produces: text (with
buttons) first, then the `custom` object as its own message.

    python tests/browser/fake_rasa.py --port 5205
"""

from __future__ import annotations

import argparse
import json
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

SOURCE = {
    "title": "Gluteus medius pain: causes, symptoms and treatment",
    "publisher": "Sports Injury Clinic",
    "author": "Clinical team",
    "date": "2023-05-01",
}
SEE = "See a GP or physiotherapist if the pain is not better after 2 weeks of self-care."


def answer(
    topic: str, text: str, buttons: List[Dict[str, str]] | None = None, escalation: str = "routine"
) -> List[Dict[str, Any]]:
    first: Dict[str, Any] = {"text": text}
    if buttons:
        first["buttons"] = buttons
    custom = {"topic": topic, "escalation": escalation}
    if escalation == "routine":
        custom["sources"] = [SOURCE]
    out = [first, {"custom": custom}]
    if escalation == "routine":
        out.append({"text": SEE})
    return out


def reply_for(message: str) -> List[Dict[str, Any]]:
    m = message.lower()
    if m in ("/exercise_hip_drop",) or "hip drop" in m:
        return answer(
            "exercise_hip_drop",
            "**Hip drops**, step by step:\n1. Stand sideways on a "
            "step on one leg.\n2. Let the other hip drop slowly.\n3. Lift it back up "
            "using the standing hip. Do 10 slow repeats.",
        )
    if m.startswith("/exercise") or "exercise" in m:
        return answer(
            "exercises",
            "Four exercises strengthen the gluteus medius: hip drops, crab steps, TRX lunges and Bulgarian lunges.",
            [
                {"title": "Hip drops", "payload": "/exercise_hip_drop"},
                {"title": "Crab steps", "payload": "/exercise_crab_steps"},
                {"title": "TRX lunge", "payload": "/exercise_trx_lunge"},
                {"title": "Bulgarian lunge", "payload": "/exercise_bulgarian_lunge"},
            ],
        )
    if re.search(r"numb.*(between|saddle|down there)|can'?t (wee|pee)", m):
        return [
            {
                "text": "Call 999 or go to A&E now if you have numbness between your legs or "
                "new trouble passing urine. These can be signs of a serious nerve problem."
            },
            {
                "custom": {
                    "topic": "red_flag",
                    "escalation": "emergency",
                    "flags": ["saddle_numbness"],
                    "emergency_number": "999",
                }
            },
        ]
    if "fever" in m and " no fever" not in f" {m}":
        return [
            {"text": "Please see a doctor today. If you cannot get an appointment, call 111."},
            {"custom": {"topic": "red_flag", "escalation": "urgent", "flags": ["infection"], "urgent_line": "111"}},
        ]
    if m in ("/symptoms",) or "symptom" in m:
        return answer(
            "symptoms",
            "Common symptoms are:\n- pain on the outside of the hip or in "
            "the buttock\n- pain when lying on that side\n- a limp",
            [{"title": "Causes", "payload": "/causes"}, {"title": "Exercises", "payload": "/exercises"}],
        )
    if m in ("/gluteus_medius",) or "what is" in m:
        return answer(
            "gluteus_medius",
            "The gluteus medius is a fan-shaped muscle on the "
            "outside of the hip. It keeps your pelvis level when you stand on one leg.",
        )
    if m in ("/treatment",) or "treat" in m:
        return answer(
            "treatment",
            "Treatments range from rest, ice and exercises to physiotherapy, injections and, rarely, surgery.",
        )
    if m in ("/when_to_see_clinician",):
        return answer(
            "when_to_see_clinician",
            "See someone if the pain lasts more than a few weeks, wakes you at night or stops you walking normally.",
        )
    if m in ("/appointment",) or "book" in m:
        return [
            {"text": "Call us on 020 7946 0000 to book. Open Monday to Friday, 8am-6pm."},
            {"custom": {"topic": "appointment", "escalation": "none"}},
        ]
    if m in ("hello", "hi", "/greet"):
        return [
            {"text": "Hello! Ask me about hip and buttock pain."},
            {"custom": {"topic": "greet", "escalation": "none"}},
        ]
    return [
        {
            "text": "Sorry, I'm not sure I understood. Did you mean one of these?",
            "buttons": [{"title": "Symptoms", "payload": "/symptoms"}, {"title": "Exercises", "payload": "/exercises"}],
        },
        {"custom": {"topic": "clarify", "escalation": "none"}},
    ]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self.send_response(204)
        self._cors()
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        body = b"Hello from fake Rasa"
        self.send_response(200)
        self._cors()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        sender = data.get("sender", "")
        messages = reply_for(str(data.get("message", "")))
        time.sleep(0.3)
        for msg in messages:
            msg["recipient_id"] = sender
        body = json.dumps(messages).encode()
        self.send_response(200)
        self._cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_with_socketio(port: int) -> None:
    """REST and socket.io on one port, like Rasa (Sanic + python-socketio, from Rasa's deps)."""
    import socketio
    from sanic import Sanic, response

    sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=[])
    app = Sanic("fake_rasa")
    app.config.WEBSOCKET_MAX_SIZE = 1 << 20
    sio.attach(app, socketio_path="socket.io")

    def cors(request, resp):
        resp.headers["Access-Control-Allow-Origin"] = request.headers.get("origin", "*")
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        resp.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
        return resp

    @app.route("/webhooks/rest/webhook", methods=["POST", "OPTIONS"])
    async def rest(request):
        if request.method == "OPTIONS":
            return cors(request, response.empty())
        data = request.json or {}
        messages = reply_for(str(data.get("message", "")))
        for msg in messages:
            msg["recipient_id"] = data.get("sender", "")
        return cors(request, response.json(messages))

    @app.route("/webhooks/rest/forget", methods=["POST", "OPTIONS"])
    async def forget(request):  # channels/rest.py: the kiosk's "start over"
        if request.method == "OPTIONS":
            return cors(request, response.empty())
        return cors(request, response.json({"forgotten": True}))

    @app.get("/")
    async def hello(request):
        return response.text("Hello from fake Rasa")

    @sio.on("session_request")
    async def session_request(sid, data):
        session_id = (data or {}).get("session_id") or sid
        await sio.enter_room(sid, session_id)  # a coroutine in python-socketio 5.x
        await sio.emit("session_confirm", session_id, room=sid)

    @sio.on("user_uttered")
    async def user_uttered(sid, data):
        for msg in reply_for(str((data or {}).get("message", ""))):
            if msg.get("buttons"):  # Rasa's socket.io output calls buttons quick_replies
                msg["quick_replies"] = [dict(b, content_type="text") for b in msg.pop("buttons")]
            await sio.emit("bot_uttered", msg, room=data.get("session_id"))

    app.run(host="127.0.0.1", port=port, access_log=False, motd=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5205)
    ap.add_argument("--socketio", action="store_true", help="also serve socket.io (needs sanic)")
    args = ap.parse_args()
    if args.socketio:
        serve_with_socketio(args.port)
    else:
        ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
