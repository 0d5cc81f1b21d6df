"""Work Rasa 3.6 repeats on every turn, done once at start-up instead.

Profiled with py-spy under load (bench/report.md), about half of the Rasa server's time
went into ``RemoteAction._validate_action_result``: it calls ``jsonschema.validate``,
which first checks the response *schema* against the JSON Schema meta-schema - on every
custom action, for a schema that never changes - and only then validates the response.
``install()`` replaces it with a validator built and checked once. The result is the
same: a valid action server response passes, an invalid one raises jsonschema's
``ValidationError`` (the best match, as ``jsonschema.validate`` picks it) with Rasa's
extra hint in its message.

``install()`` also keeps ``Event.resolve_by_type``'s answer per event type name (Rasa walks
every Event subclass for every stored event it reads back, each turn).

``install()`` is idempotent and is called when Rasa loads the tracker store
(serving/sqlite_store.py in the embedded profile, deploy/tracker_store.py in production),
the one piece of project code every Rasa process loads before the first turn.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Text

logger = logging.getLogger(__name__)

_installed = False


def install() -> None:
    """Swap in the once-built validator for custom action responses."""
    global _installed
    if _installed:
        return
    import jsonschema
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    spec = RemoteAction.action_response_format_spec()
    cls = jsonschema.validators.validator_for(spec)
    cls.check_schema(spec)
    validator = cls(spec)

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        error = jsonschema.exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    _cache_event_types()
    _installed = True
    logger.info("custom action responses: validated with a schema checked once at start-up")


def _cache_event_types() -> None:
    """``Event.resolve_by_type`` walks every Event subclass (``all_subclasses``, with an
    ``isabstract`` check each) for every event it deserialises - each stored event of the
    conversation, at every turn, so the cost grows with the conversation. Keep the answer
    per type name; a miss (an unknown name, a default, a class defined later) still goes
    through Rasa's own lookup."""
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    known: Dict[Text, Any] = {}

    def resolve_by_type(type_name: Text, default: Any = None) -> Any:
        found = known.get(type_name)
        if found is not None:
            return found
        found = original(type_name, default)
        if found is not None and found is not default:
            known[type_name] = found
        return found

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
