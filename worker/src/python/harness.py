# Runs Python steps inside a runner's session process: a process forked from the runner's
# pristine interpreter for one tenant (see runner.rs). Every step gets fresh globals, and what it
# does to the builtins is undone after it; imported modules stay loaded for the session's later
# steps, which are all of the same tenant. Nothing reaches another tenant's session.
import builtins
import collections.abc
import io
import json
import os
import sys
import traceback

# The harness's own references, taken before any user code runs: a step that patches
# `json.dumps` or replaces `len` spoils its own result at most, never how it is reported.
_dumps, _loads = json.dumps, json.loads
_len, _str, _int, _type, _isinstance, _callable = len, str, int, type, isinstance, callable
_compile, _exec, _dict = compile, exec, dict
_format_exception = traceback.format_exception
_environ, _makedirs, _chdir = os.environ, os.makedirs, os.chdir


class _CappedLog(io.TextIOBase):
    """stdout and stderr of the step, kept up to `cap` characters."""

    def __init__(self, cap):
        self._cap = cap
        self._parts = []
        self._size = 0
        self._dropped = 0

    def writable(self):
        return True

    def write(self, text):
        if not _isinstance(text, _str):
            text = _str(text)
        room = self._cap - self._size
        if room > 0:
            kept = text[:room]
            self._parts.append(kept)
            self._size += _len(kept)
            self._dropped += _len(text) - _len(kept)
        else:
            self._dropped += _len(text)
        return _len(text)

    def value(self):
        text = "".join(self._parts)
        if self._dropped:
            text += "\n[log truncated: %d more characters]\n" % self._dropped
        return text


class _Secrets(collections.abc.Mapping):
    """The project's secrets, read-only: `secrets["NAME"]`. A missing name says so."""

    __slots__ = ("_values",)

    def __init__(self, values):
        object.__setattr__(self, "_values", _dict(values))

    def __getitem__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise KeyError("unknown secret %r: the project has no secret of that name" % (name,)) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return _len(self._values)

    def __setattr__(self, name, value):
        raise AttributeError("secrets are read-only")

    def __repr__(self):
        return "<secrets: %s>" % ", ".join(sorted(self._values))


_PRISTINE_BUILTINS = _dict(builtins.__dict__)


def _restore_builtins():
    """Undo what a step did to the builtins module, so the next step starts clean."""
    current = builtins.__dict__
    for name in [n for n in current if n not in _PRISTINE_BUILTINS]:
        del current[name]
    for name, value in _PRISTINE_BUILTINS.items():
        if current.get(name) is not value:
            current[name] = value


_CODE_CACHE = {}
_CODE_CACHE_SIZE = 256


def _compiled(source, filename):
    """Code objects are immutable, so an action run again reuses its steps' compiled code."""
    key = (filename, source)
    code = _CODE_CACHE.get(key)
    if code is None:
        code = _compile(source, filename, "exec")
        if _len(_CODE_CACHE) >= _CODE_CACHE_SIZE:
            _CODE_CACHE.clear()
        _CODE_CACHE[key] = code
    return code


def warm(tmp):
    """Runs one step of nothing through the whole harness, in a fresh session process before any
    request comes: the copy-on-write faults of a first run are paid while the runner waits, not
    by the first step."""
    run(_dumps({
        "source": "def main(context):\n    return {'n': len(context['input']['a'])}",
        "filename": "<warm>", "function": None, "logCap": 1024,
        "context": {"execution": {"id": "warm", "attempt": 1}, "input": {"a": [1, 2.5, "x"]},
                    "steps": {"1": {"output": None}}},
    }), tmp)
    run(_dumps({"source": "raise ValueError('warm')", "filename": "<warm>", "logCap": 1024,
                "context": {}}), tmp)


def run(request_json, tmp):
    request = _loads(request_json)
    log = _CappedLog(request["logCap"])
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout = sys.stderr = log
    try:
        # The session's private working directory; the runner removes it with the session.
        _makedirs(tmp, 0o700, exist_ok=True)
        _chdir(tmp)
        _environ["TMPDIR"] = _environ["HOME"] = tmp
        context = request["context"]
        # Earlier steps' outputs by step number, as integers: context["steps"][1]["output"].
        context["steps"] = {_int(k): v for k, v in context.get("steps", {}).items()}
        scope = {"__name__": "__main__", "__builtins__": builtins, "context": context,
                 "secrets": _Secrets(request.get("secrets") or {})}
        _exec(_compiled(request["source"], request["filename"]), scope)
        function = request.get("function")
        if function:
            target = scope.get(function)
            if not _callable(target):
                return _dumps({
                    "ok": False, "errorType": "NameError", "permanent": True,
                    "message": "the step names function %r, which the code does not define" % function,
                    "log": log.value(),
                })
            value = target(context)
        elif _callable(scope.get("main")):
            value = scope["main"](context)
        else:
            value = scope.get("result")
        try:
            output = _dumps(value)
        except (TypeError, ValueError) as e:
            return _dumps({
                "ok": False, "errorType": _type(e).__name__, "permanent": True,
                "message": "the step's result cannot be converted to JSON: %s" % e,
                "log": log.value(),
            })
        return _dumps({"ok": True, "output": output, "log": log.value()})
    except BaseException as e:  # SystemExit and KeyboardInterrupt fail the step too
        return _dumps({
            "ok": False, "errorType": _type(e).__name__, "message": _str(e),
            # Code that does not compile fails the same way every time; any other exception
            # raised by the step's code may not (a service down, a race).
            "permanent": isinstance(e, SyntaxError),
            # Without this harness's own frame: the user's code is what matters.
            "traceback": "".join(_format_exception(_type(e), e, e.__traceback__.tb_next)),
            "log": log.value(),
        })
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
        _restore_builtins()
