"""The one exception type for mistakes a user can make (bad names, bad numbers, bad formulas).

A leaf module: it imports nothing of the project, so every layer (theory, numeric, derivations, the
CLI) may raise it.
"""


class UserInputError(ValueError):
    """A user's input is wrong; the CLI prints ``str(err)`` as one line and exits with status 2.

    Examples
    --------
    >>> str(UserInputError("compute must be positive, got -1"))
    'compute must be positive, got -1'
    """

    def __init__(self, message: str):
        # one line: the CLI prints it verbatim on stderr
        super().__init__(" ".join(str(message).split()))
