"""One exception tree; every message says what went wrong and what to do.

    VidgraphError
    ├── ConfigError          a setting or argument is wrong
    ├── MissingExtraError    an optional dependency is not installed (names the pip extra)
    ├── MediaError           a file cannot be used as a video (names the file)
    ├── ToolError            a perception tool failed on a video
    ├── ModelError           a model backend failed: unreachable, HTTP errors, timeouts, cannot load
    │   └── ReplyError       the model answered, but not in the asked form (invalid JSON twice)
    ├── StoreError           the index on disk is unusable or locked
    └── BudgetExhausted      a question's budget (calls, looks, seconds) is used up

For the agents, a ``ToolError``, ``MediaError``, ``ReplyError`` or ``BudgetExhausted`` is an observation (recorded
in the trace; the agents go on with what they have); every other error ends the question as an error, never as
"not in the video".

Exceptions never log; the CLI prints ``str(error)`` as one line.
"""

from __future__ import annotations


class VidgraphError(Exception):
    """Base of vidgraph's errors. ``hint`` says what the user can do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class ConfigError(VidgraphError):
    pass


class MissingExtraError(VidgraphError, ImportError):
    """An optional dependency is missing; ``extra`` is the pip extra that provides it."""

    def __init__(self, what: str, extra: str, module: str = "") -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"{what} needs the Python package {module or extra!r}, which is not installed",
            f"install it with: pip install 'vidgraph[{extra}]'",
        )


class MediaError(VidgraphError):
    """A file cannot be read as a video; ``path`` names it."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}", hint)


class ToolError(VidgraphError):
    pass


class ModelError(VidgraphError):
    pass


class ReplyError(ModelError):
    pass


class StoreError(VidgraphError):
    pass


class BudgetExhausted(VidgraphError):
    pass
