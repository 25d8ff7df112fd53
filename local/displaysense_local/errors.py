"""The failure every `displaysense` command reports as one line on standard error, exit status 2."""


class CommandError(Exception):
    """Bad input or a situation the user can fix; the message says what and how."""
