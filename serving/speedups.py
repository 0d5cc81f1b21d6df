"""Work Rasa 3.6 repeats on every turn, done once at start-up instead.

Profiled with py-spy under load (bench/report.md), about half of the Rasa server's time
went into ``RemoteAction._validate_action_result``: it calls ``jsonschema.validate``,
which first checks the response *schema* against the JSON Schema meta-schema - on every
custom action, for a schema that never changes - and only then validates the response.
``install()`` replaces it with a validator built and checked once. The result is the
same: a valid action server response passes, an invalid one raises jsonschema's
``ValidationError`` (the best match, as ``jsonschema.validate`` picks it) with Rasa's
extra hint in its message.

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
    _installed = True
    logger.info("custom action responses: validated with a schema checked once at start-up")
