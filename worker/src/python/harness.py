# Runs one Python step inside a runner process. Compiled once when the runner starts; every
# step gets fresh globals, so nothing one execution defines is visible to the next.
import builtins
import io
import json
import sys
import traceback


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
        if not isinstance(text, str):
            text = str(text)
        room = self._cap - self._size
        if room > 0:
            kept = text[:room]
            self._parts.append(kept)
            self._size += len(kept)
            self._dropped += len(text) - len(kept)
        else:
            self._dropped += len(text)
        return len(text)

    def value(self):
        text = "".join(self._parts)
        if self._dropped:
            text += "\n[log truncated: %d more characters]\n" % self._dropped
        return text


_PRISTINE_BUILTINS = dict(builtins.__dict__)


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
        code = compile(source, filename, "exec")
        if len(_CODE_CACHE) >= _CODE_CACHE_SIZE:
            _CODE_CACHE.clear()
        _CODE_CACHE[key] = code
    return code


def run(request_json):
    request = json.loads(request_json)
    log = _CappedLog(request["logCap"])
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout = sys.stderr = log
    try:
        context = request["context"]
        # Earlier steps' outputs by step number, as integers: context["steps"][1]["output"].
        context["steps"] = {int(k): v for k, v in context.get("steps", {}).items()}
        scope = {"__name__": "__main__", "__builtins__": builtins, "context": context}
        code = _compiled(request["source"], request["filename"])
        exec(code, scope)
        function = request.get("function")
        if function:
            target = scope.get(function)
            if not callable(target):
                raise NameError("the step names function %r, which the code does not define" % function)
            value = target(context)
        elif callable(scope.get("main")):
            value = scope["main"](context)
        else:
            value = scope.get("result")
        try:
            output = json.dumps(value)
        except (TypeError, ValueError) as e:
            return json.dumps({
                "ok": False, "errorType": type(e).__name__,
                "message": "the step's result cannot be converted to JSON: %s" % e,
                "log": log.value(),
            })
        return json.dumps({"ok": True, "output": output, "log": log.value()})
    except BaseException as e:  # SystemExit and KeyboardInterrupt fail the step too
        return json.dumps({
            "ok": False, "errorType": type(e).__name__, "message": str(e),
            # Without this harness's own frame: the user's code is what matters.
            "traceback": "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next)),
            "log": log.value(),
        })
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
        _restore_builtins()
