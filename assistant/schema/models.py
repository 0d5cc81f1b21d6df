"""Schemas of the content files a clinic edits (pydantic 1.10, already pinned by Rasa).

Every model forbids unknown keys and uses strict types: a misspelt key (``folow_ups``)
or a date YAML read as a date instead of text is an error with its location, not a
silently dropped field. Cross-file rules (a follow-up names a topic, an intent has a rule)
stay in ``assistant/validate.py``; these models check the shape of one file.
"""

from typing import Any, Dict, List, Type, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, Extra, StrictInt, StrictStr, create_model, validator


class Strict(BaseModel):
    """No unknown keys; values keep the type YAML gave them (no silent coercion)."""

    class Config:
        extra = Extra.forbid
        allow_mutation = False


# --------------------------------------------------------------------------- catalogue


class SourceEntry(Strict):
    title: StrictStr
    publisher: StrictStr
    author: StrictStr = ""
    date: StrictStr = ""  # quoted: an unquoted 2018-02-15 is a YAML date, rejected here
    file: StrictStr = ""


class TopicEntry(Strict):
    title: StrictStr
    answer: StrictStr
    more: StrictStr = ""
    steps: List[StrictStr] = []
    sources: List[StrictStr]
    follow_ups: List[StrictStr] = []


class CatalogueFile(Strict):
    """content/catalogue.yml: the topic registry (ids, titles, start menu) and the answers."""

    version: StrictStr
    sources: Dict[StrictStr, SourceEntry]
    topics: Dict[StrictStr, TopicEntry]
    menu: List[StrictStr]

    @validator("menu")
    def menu_names_topics(cls, menu: List[str], values: dict) -> List[str]:
        """The start menu offers topics of this catalogue (``topics`` is validated first)."""
        if "topics" not in values:  # the topics failed their own checks: reported there
            return menu
        unknown = [m for m in menu if m not in values["topics"]]
        if unknown:
            raise ValueError(f"menu names {unknown}, which are not topics of this catalogue")
        return menu


# --------------------------------------------------------------------------- conversation


class EmergencyWording(Strict):
    lead: StrictStr
    after: StrictStr


class UrgentWording(Strict):
    lead: StrictStr
    watch: StrictStr
    worse: StrictStr


class AppointmentWording(Strict):
    configured: StrictStr
    unconfigured: StrictStr


class HandoffWording(Strict):
    configured: StrictStr
    unconfigured: StrictStr
    kiosk_hint: StrictStr


class CheckQuestion(Strict):
    """A yes/no check question for one red flag (the "uncertain red flag asks" turn)."""

    question: StrictStr
    yes: StrictStr = ""
    no: StrictStr = ""


class CrisisWording(Strict):
    lead: StrictStr
    clinic: StrictStr


class AfterRedFlagWording(Strict):
    """A "no", "I don't know" or "ok, going now" right after a red-flag reply."""

    crisis: StrictStr
    emergency: StrictStr
    urgent: StrictStr
    goodbye: StrictStr
    thanks_goodbye: StrictStr


class CheckWording(Strict):
    emergency: StrictStr
    urgent: StrictStr
    yes: StrictStr
    no: StrictStr
    answered_no: StrictStr


class ConversationFile(Strict):
    """content/conversation.yml: everything the assistant says that is not article content."""

    version: StrictInt
    disclaimer: StrictStr
    routine: StrictStr
    emergency: EmergencyWording
    urgent: UrgentWording
    safety_net: StrictStr
    greet: StrictStr
    goodbye: StrictStr
    thanks_goodbye: StrictStr
    thanks: StrictStr
    capabilities: StrictStr
    anything_else: StrictStr
    acknowledged: StrictStr
    what_next: StrictStr
    appointment: AppointmentWording
    handoff: HandoffWording
    out_of_scope: StrictStr
    other_body_part: StrictStr
    clarify: StrictStr
    clarify_none: StrictStr
    something_else: StrictStr
    more_none: StrictStr
    no_topic_yet: StrictStr
    choose_unknown: StrictStr
    empty_message: StrictStr
    too_long: StrictStr
    unavailable: StrictStr
    crisis: CrisisWording
    after_red_flag: AfterRedFlagWording
    check: CheckWording
    # Yes/no check questions per red-flag id: the question alone, or question + yes/no wording.
    checks: Dict[StrictStr, Union[StrictStr, CheckQuestion]] = {}


# --------------------------------------------------------------------------- lexicon


class LexiconFile(Strict):
    """content/lexicon.yml: entity type -> canonical value -> lay phrases."""

    version: StrictInt
    entities: Dict[StrictStr, Dict[StrictStr, List[StrictStr]]]


# --------------------------------------------------------------------------- clinic profile


def _profile_schema() -> Type[BaseModel]:
    """clinic/profile.yml's schema, derived from ``ClinicProfile`` (the fields the code reads).

    A key the loader would ignore is an error; a field added to the dataclass (for example
    ``crisis_line``) is accepted without a second list to keep in step. Text fields must be
    YAML strings (an unquoted 000 would lose its zeros); tuple fields are lists of strings.
    """
    from assistant.clinic import ClinicProfile

    spec: Dict[str, Any] = {"version": (StrictInt, 1)}
    for name, hint in get_type_hints(ClinicProfile).items():
        if hint is str:
            spec[name] = (StrictStr, "")
        elif get_origin(hint) is tuple and get_args(hint) == (str, ...):
            spec[name] = (List[StrictStr], [])
        else:
            raise TypeError(f"ClinicProfile.{name}: no schema type for {hint!r}; add one here")
    model: Type[BaseModel] = create_model("ClinicProfileFile", __base__=Strict, **spec)
    model.__doc__ = "clinic/profile.yml (and clinic/examples/*.yml): text shown to patients as written."
    return model


ClinicProfileFile = _profile_schema()
