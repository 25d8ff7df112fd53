"""The time an invocation has left, for handlers that must stop a step before the Lambda timeout does.

A step that may not finish is not started: what it keeps in hand comes from the clients' configured
timeouts (`adapters.aws.worst_call_ms`), so a slow tail of one call cannot meet the timeout.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

# Without a Lambda context (a direct call in a test or a script) the most Lambda would give.
NO_CONTEXT_MS = 15 * 60 * 1000


class Budget:
    """Remaining milliseconds of one invocation, and how much of it was used so far."""

    def __init__(self, context: LambdaContext | None) -> None:
        self._context = context
        self._start = self.remaining_ms()

    def remaining_ms(self) -> int:
        if self._context is None:
            return NO_CONTEXT_MS
        return int(self._context.get_remaining_time_in_millis())

    def used_ms(self) -> int:
        return self._start - self.remaining_ms()

    def allows(self, reserve_ms: int) -> bool:
        """Whether a step that may take `reserve_ms` can still start."""
        return self.remaining_ms() >= reserve_ms
