"""Schemathesis hooks for tests/schemathesis/run.sh: they keep generated creates and updates
meaningful without changing whether a case is valid or invalid. Schemathesis re-checks a case a
`before_call` hook changed, and every change below replaces a value the document allows with
another value it allows.

1. Unique names. Action names are unique in a project (a second action with the same name is
   a 409) and the generator favours a handful of short names ("0", "A", ...). A 409 hides
   everything else about a create or rename: a body the document refuses but the API wrongly
   accepts would answer 409, which counts as refused, and most stateful chains would end at
   their first step. So a valid `name` gets a unique suffix (the name is shortened to make room
   for it; the suffix has a non-blank character and no forbidden one), in the fuzzing and
   stateful phases always, and in the coverage phase in negative cases only: its positive cases
   are the same few bodies thousands of times, and creating them all would leave thousands of
   actions behind (every list would then answer megabytes), while its negative cases should all
   be refused, so at most the wrongly accepted ones are created, and each is a failure.

3. Opaque values in lists, bulk bodies and delayed executes. A `cursor` is valid only if the
   API issued it, `offset` may not come with one, `since` must be before `until`, and `runAt`
   may be at most a year ahead: rules the document states in words only. A generated cursor
   (a non-empty string) is replaced with a well-formed one (a position before any item), an
   offset beside it with 0, an `until` not after `since` with a day after it, and a `runAt`
   more than 300 days ahead with one an hour ahead: each a value the document allows, for
   another it allows.

2. Typical settings in the stateful phase. Some settings are judged by a grammar the document
   can only describe: Python code must parse, templates (`{{ ... }}`) must compile, a URL must
   be one a URL parser reads, a cron expression must mean something, and a settings string
   must hold JSON. Generated ones almost never do, so most generated creates would be refused
   and the stateful phase would rarely get to executions. In the stateful phase, whose purpose
   is to chain calls (create -> execute -> read / cancel / download), those values of valid
   cases are replaced with typical ones. The coverage and fuzzing phases keep sending the
   generated values, and the API's answers to them are checked as usual.
"""

import base64
import datetime
import itertools
import json
import os
import re

import schemathesis

# The document the API under test serves, saved by run.sh.
_DOCUMENT = os.environ["ACTUATE_ST_DOCUMENT"]
with open(_DOCUMENT, encoding="utf-8") as _f:
    _SCHEMAS = json.load(_f)["components"]["schemas"]
_NAME_PATTERN = re.compile(_SCHEMAS["Name"]["pattern"])
_NAME_MAX = _SCHEMAS["Name"]["maxLength"]
_COUNTER = itertools.count(1)
_TEMPLATE = re.compile(r"\{\{|\{%|\{#")

_CODE = "def main(context):\n    return context['input']"
_URL = "https://hooks.example.com/actuate"
_CRON = "0 6 * * 1-5"
# Settings strings by type (a Python step may also be "{}", the other triggers take "{}").
_STEP_TEXT = {
    "Python": json.dumps({"code": _CODE}),
    "Email": json.dumps({"recipients": ["ops@example.com"], "subject": "Report for {{ action.name }}"}),
    "Webhook": json.dumps({"url": _URL, "method": "POST"}),
}
_TRIGGER_TEXT = {"CronScheduler": json.dumps({"cron": _CRON})}


def _valid_name(name: object) -> bool:
    return isinstance(name, str) and 1 <= len(name) <= _NAME_MAX and _NAME_PATTERN.search(name) is not None


def _templated(value: object) -> bool:
    return isinstance(value, str) and _TEMPLATE.search(value) is not None


def _typical_step(step: dict) -> None:
    kind, settings = step.get("stepType"), step.get("settings")
    if isinstance(settings, str):
        step["settings"] = _STEP_TEXT.get(kind, "{}")
        return
    if not isinstance(settings, dict):
        return
    if kind == "Python":
        if isinstance(settings.get("code"), str):
            settings["code"] = _CODE
        if isinstance(settings.get("function"), str):
            settings["function"] = "main"
    elif kind == "Email":
        for field in ("recipients", "cc", "bcc"):
            if isinstance(settings.get(field), list):
                settings[field] = ["{{ input.email }}" if _templated(a) else a for a in settings[field]]
        if _templated(settings.get("replyTo")):
            settings["replyTo"] = "{{ input.email }}"
        for field in ("subject", "body", "html"):
            if _templated(settings.get(field)):
                settings[field] = "Report for {{ action.name }}"
    elif kind == "Webhook":
        if isinstance(settings.get("url"), str):
            settings["url"] = _URL
        headers = settings.get("headers")
        if isinstance(headers, dict):
            settings["headers"] = {k: "x" if _templated(v) else v for k, v in headers.items()}


def _typical_trigger(trigger: dict) -> None:
    kind, settings = trigger.get("triggerType"), trigger.get("settings")
    if isinstance(settings, str):
        trigger["settings"] = _TRIGGER_TEXT.get(kind, "{}")
    elif kind == "CronScheduler" and isinstance(settings, dict) and isinstance(settings.get("cron"), str):
        settings["cron"] = _CRON


# A position before every item: the next page of the newest-first history is empty, that of
# the oldest-first action list is all of it. Its form is the API's (paging.rs); only a test of
# the API's own document may rely on it.
_CURSOR = base64.urlsafe_b64encode(b"v1.0.00000000-0000-0000-0000-000000000000").decode().rstrip("=")


def _time(value: object):
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _window(values: dict) -> None:
    """`until` after `since` when both are times."""
    since, until = _time(values.get("since")), _time(values.get("until"))
    if since is not None and until is not None and since >= until:
        values["until"] = (since + datetime.timedelta(days=1)).isoformat()


def _opaque_values(case) -> None:
    query = case.query
    if isinstance(query, dict):
        if isinstance(query.get("cursor"), str) and query["cursor"]:
            query["cursor"] = _CURSOR
            if "offset" in query:
                query["offset"] = 0
        _window(query)
    body = case.body
    if isinstance(body, dict):
        _window(body)
        run_at = _time(body.get("runAt"))
        now = datetime.datetime.now(datetime.timezone.utc)
        if run_at is not None and run_at > now + datetime.timedelta(days=300):
            body["runAt"] = (now + datetime.timedelta(hours=1)).isoformat()


@schemathesis.hook
def before_call(context, case, kwargs):
    operation_id = context.operation.definition.raw.get("operationId") if context.operation else None
    _opaque_values(case)
    body = case.body
    if operation_id not in ("createAction", "updateAction") or not isinstance(body, dict):
        return
    meta = case.meta
    phase = meta.phase.name if meta is not None else None
    negative = meta is not None and meta.generation.mode.is_negative
    if _valid_name(body.get("name")) and (phase != "coverage" or negative):
        suffix = f" #{next(_COUNTER)}"
        body["name"] = body["name"][: _NAME_MAX - len(suffix)] + suffix
        assert _valid_name(body["name"]), body["name"]
    if phase == "stateful" and not negative:
        for step in body.get("steps") or []:
            if isinstance(step, dict):
                _typical_step(step)
        for trigger in body.get("triggers") or []:
            if isinstance(trigger, dict):
                _typical_trigger(trigger)
