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

With ``tracker_events: current_turn`` on the action endpoint, custom action calls carry
only the current turn's events (see ``_lean_action_calls``), so they stop growing with
the conversation.

``install()`` also keeps each conversation's past dialogue states between turns
(serving/past_states.py), so a prediction replays only the new events, and each
conversation's applied events (serving/applied_events.py), so the five or so calls per
turn fold only the new events.

``install()`` is idempotent and is called when Rasa loads the tracker store
(serving/sqlite_store.py in the embedded profile, deploy/tracker_store.py in production),
the one piece of project code every Rasa process loads before the first turn.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

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
    _lean_action_calls()
    from serving import applied_events, past_states

    past_states.install()
    applied_events.install()
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


# endpoints.yml, action_endpoint: `tracker_events: current_turn` sends only this turn's events.
TRACKER_EVENTS_KEY = "tracker_events"


def _lean_action_calls() -> None:
    """Rasa sends the action server the whole conversation (every event, serialised to JSON
    and parsed again there) with every custom action, so a call costs more each turn. This
    project's actions read slots and the latest message only (never ``tracker.events``), so
    with ``tracker_events: current_turn`` on the action endpoint a call carries the same
    slots, latest message and latest action, and the events from the latest user message on.
    Without that setting Rasa's own request is sent unchanged."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import EventVerbosity

    original = RemoteAction._action_call_format

    def _action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> Dict[Text, Any]:
        endpoint = self.action_endpoint
        if endpoint is None or endpoint.kwargs.get(TRACKER_EVENTS_KEY) != "current_turn":
            return original(self, tracker, domain)
        import rasa

        state = tracker.current_state(EventVerbosity.NONE)
        turn: List[Any] = []
        for event in reversed(tracker.events):
            turn.append(event)
            if isinstance(event, UserUttered):
                break
        state["events"] = [e.as_dict() for e in reversed(turn)]
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
        }
        if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
            result["domain"] = domain.as_dict()
        return result

    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
