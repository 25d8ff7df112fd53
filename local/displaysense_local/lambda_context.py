"""The Lambda context local mode hands to the handlers: what Powertools and the handlers read."""

from __future__ import annotations

import time
import uuid

from displaysense.resources import FunctionDefinition


class LambdaContext:
    function_version = "$LATEST"
    log_stream_name = "local"

    def __init__(self, function: FunctionDefinition) -> None:
        self.function_name = f"displaysense-{function.name}-local"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        self.memory_limit_in_mb = function.memory_mb
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        # The function's timeout, as Lambda counts it: the results handler checkpoints by it.
        self._deadline = time.monotonic() + function.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
