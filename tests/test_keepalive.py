"""serving/keepalive.py: the action endpoint reuses its connection, keeps Rasa's contract
(JSON back, ClientResponseError on 4xx/5xx, token and headers sent) and swaps in on an agent."""

import asyncio
from types import SimpleNamespace

import pytest
from aiohttp import web
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from serving.keepalive import KeptAliveEndpoint, keep_alive


async def _serve(handler):
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhook"


def test_requests_share_one_connection_and_keep_the_contract():
    seen = []

    async def handler(request):
        seen.append(
            (
                request.transport.get_extra_info("peername")[1],
                request.headers.get("Authorization"),
                request.query.get("token"),
            )
        )
        body = await request.json()
        if body.get("fail"):
            return web.json_response({"error": "no"}, status=500)
        return web.json_response({"events": [], "echo": body["n"]})

    async def main():
        runner, url = await _serve(handler)
        try:
            plain = EndpointConfig(url, headers={"Authorization": "Bearer t"}, token="abc")
            kept = KeptAliveEndpoint.of(plain)
            answers = [await kept.request(json={"n": i}, method="post") for i in range(3)]
            with pytest.raises(ClientResponseError):
                await kept.request(json={"fail": True, "n": 9})
            await kept.close()
            return answers
        finally:
            await runner.cleanup()

    answers = asyncio.run(main())
    assert [a["echo"] for a in answers] == [0, 1, 2]
    assert len({port for port, _, _ in seen}) == 1, seen  # one client port: one kept connection
    assert all(auth == "Bearer t" and token == "abc" for _, auth, token in seen)


def test_keep_alive_swaps_the_agent_and_processor_endpoint():
    endpoint = EndpointConfig("http://127.0.0.1:1/webhook", enable_selective_domain=True)
    agent = SimpleNamespace(action_endpoint=endpoint, processor=SimpleNamespace(action_endpoint=endpoint))
    kept = keep_alive(agent)
    assert isinstance(kept, KeptAliveEndpoint)
    assert agent.action_endpoint is kept and agent.processor.action_endpoint is kept
    assert kept.kwargs == {"enable_selective_domain": True}
    assert keep_alive(SimpleNamespace(action_endpoint=None)) is None
