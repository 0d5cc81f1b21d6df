"""A kept-alive connection from Rasa to the action server.

Rasa 3.6's ``EndpointConfig.request`` (rasa/utils/endpoints.py) opens a new
``aiohttp.ClientSession`` - a new TCP connection, and a new TLS handshake when the action
server is behind HTTPS - for every custom action it runs, and closes it afterwards.
``KeptAliveEndpoint`` is the same endpoint (same URL, token, headers, timeouts, the same
errors for 4xx/5xx) whose requests share one session per event loop, so connections stay
open between turns. ``keep_alive(agent)`` swaps it in for the agent's action endpoint; the
REST channel's start-up hook (``channels/rest.py:send_action_token``) is where to call it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any, Dict, Optional, Text

import aiohttp
from aiohttp.client_exceptions import ContentTypeError
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

logger = logging.getLogger(__name__)


class KeptAliveEndpoint(EndpointConfig):
    """``EndpointConfig`` whose ``request`` reuses one ``aiohttp.ClientSession`` per loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: Dict[int, aiohttp.ClientSession] = {}
        self._ssl: Optional[ssl.SSLContext] = ssl.create_default_context(cafile=self.cafile) if self.cafile else None

    @classmethod
    def of(cls, endpoint: EndpointConfig) -> "KeptAliveEndpoint":
        kwargs = dict(endpoint.kwargs)
        if endpoint.type:
            kwargs["type"] = endpoint.type
        return cls(
            endpoint.url,
            endpoint.params,
            endpoint.headers,
            endpoint.basic_auth,
            endpoint.token,
            endpoint.token_name,
            endpoint.cafile,
            **kwargs,
        )

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(id(loop))
        if session is None or session.closed:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
            )
            session = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30),
            )
            self._sessions[id(loop)] = session
        return session

    async def request(
        self,
        method: Text = "post",
        subpath: Optional[Text] = None,
        content_type: Optional[Text] = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Optional[Any]:
        """As ``EndpointConfig.request`` (same arguments, result and errors), on the kept session."""
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(kwargs.pop("headers", None) or {})
        headers.update(self.headers or {})
        url = concat_url(self.url, subpath)
        async with self._session().request(
            method,
            url,
            headers=headers,
            params=self.combine_parameters(kwargs),
            compress=compress,
            ssl=self._ssl,
            **kwargs,
        ) as response:
            if response.status >= 400:
                raise ClientResponseError(response.status, response.reason, await response.content.read())
            try:
                return await response.json()
            except ContentTypeError:
                return None

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()


def keep_alive(agent: Any) -> Optional[KeptAliveEndpoint]:
    """Give the agent (and its processor) a kept-alive action endpoint; None when it has none."""
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is None:
        return None
    kept = endpoint if isinstance(endpoint, KeptAliveEndpoint) else KeptAliveEndpoint.of(endpoint)
    agent.action_endpoint = kept
    processor = getattr(agent, "processor", None)
    if processor is not None:
        processor.action_endpoint = kept
    logger.info("action server calls share kept-alive connections")
    return kept
