"""User-facing errors.

Every mistake a user can make (a bad file, a bad parameter) raises :class:`UserError` with one
sentence that says what is wrong and what to do. The command line prints it after ``error:`` and
exits with status 2; the app shows it in ``st.error``. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, described in one sentence."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        """The one-line message shown to the user."""
        return str(self)


class Cancelled(Exception):
    """Raised from a progress callback when the user cancelled the work."""
