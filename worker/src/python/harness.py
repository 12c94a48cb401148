# Runs one Python step, in a process forked for this step alone from a runner's pristine
# interpreter (see runner.rs): nothing a step changes is seen by any other step.
import builtins
import io
import json
import os
import sys
import traceback

# The harness's own references, taken before any user code runs: a step that patches
# `json.dumps` or replaces `len` spoils its own result at most, never how it is reported.
_dumps, _loads = json.dumps, json.loads
_len, _str, _int, _type, _isinstance, _callable = len, str, int, type, isinstance, callable
_compile, _exec = compile, exec
_format_exception = traceback.format_exception
_environ, _mkdir, _chdir = os.environ, os.mkdir, os.chdir


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


def run(request_json, tmp):
    request = _loads(request_json)
    log = _CappedLog(request["logCap"])
    sys.stdout = sys.stderr = log
    try:
        # A private, empty working directory; the zygote removes it after the step.
        _mkdir(tmp, 0o700)
        _chdir(tmp)
        _environ["TMPDIR"] = _environ["HOME"] = tmp
        context = request["context"]
        # Earlier steps' outputs by step number, as integers: context["steps"][1]["output"].
        context["steps"] = {_int(k): v for k, v in context.get("steps", {}).items()}
        scope = {"__name__": "__main__", "__builtins__": builtins, "context": context}
        _exec(_compile(request["source"], request["filename"], "exec"), scope)
        function = request.get("function")
        if function:
            target = scope.get(function)
            if not _callable(target):
                raise NameError("the step names function %r, which the code does not define" % function)
            value = target(context)
        elif _callable(scope.get("main")):
            value = scope["main"](context)
        else:
            value = scope.get("result")
        try:
            output = _dumps(value)
        except (TypeError, ValueError) as e:
            return _dumps({
                "ok": False, "errorType": _type(e).__name__,
                "message": "the step's result cannot be converted to JSON: %s" % e,
                "log": log.value(),
            })
        return _dumps({"ok": True, "output": output, "log": log.value()})
    except BaseException as e:  # SystemExit and KeyboardInterrupt fail the step too
        return _dumps({
            "ok": False, "errorType": _type(e).__name__, "message": str(e),
            # Without this harness's own frame: the user's code is what matters.
            "traceback": "".join(_format_exception(_type(e), e, e.__traceback__.tb_next)),
            "log": log.value(),
        })
