"""The project's actions, with a failure on purpose: any action whose latest user message
contains "fail on purpose" raises an exception whose message holds the patient's text.

The security tests run the action server with ``--actions tests.security.chaos_actions``:
rasa_sdk imports this module, which imports (and so registers) the real actions and
wraps every concrete action's ``run``. Whatever the actions themselves do about errors,
this proves that the action server and Rasa keep the text out of responses and logs.
"""

import functools

from rasa_sdk import Action

import actions.actions  # noqa: F401  (registers the real actions)

TRIGGER = "fail on purpose"


def _failing(run):
    @functools.wraps(run)
    def wrapper(self, dispatcher, tracker, domain):
        text = (tracker.latest_message or {}).get("text") or ""
        if TRIGGER in text:
            raise ValueError(f"failed on purpose on {text!r}")
        return run(self, dispatcher, tracker, domain)

    return wrapper


def _concrete_actions(base=Action):
    for cls in base.__subclasses__():
        yield cls
        yield from _concrete_actions(cls)


for _cls in set(_concrete_actions()):
    if _cls.__module__.startswith("actions.") and "run" in vars(_cls):
        _cls.run = _failing(vars(_cls)["run"])
