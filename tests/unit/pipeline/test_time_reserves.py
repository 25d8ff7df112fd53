"""What the handlers keep in hand before a step comes from the Rekognition client's own attempts and
timeouts, and a fresh invocation always has room for one step."""

from __future__ import annotations

from dataclasses import dataclass

from displaysense.adapters.aws_clients import REKOGNITION_CONFIG
from displaysense.handlers.budget import NO_CONTEXT_MS, Budget
from displaysense.pipeline import aggregation, job_starts, result_paging
from displaysense.resources import (
    INGEST_FUNCTION,
    REKOGNITION_CALL_MS,
    REKOGNITION_LIMITS,
    RESULTS_FUNCTION,
    CallLimits,
)


def test_the_client_is_configured_from_the_limits_the_reserves_use() -> None:
    assert REKOGNITION_CONFIG.retries == {
        "mode": "standard",
        "total_max_attempts": REKOGNITION_LIMITS.total_attempts,
    }  # type: ignore[attr-defined]
    assert REKOGNITION_CONFIG.connect_timeout == REKOGNITION_LIMITS.connect_timeout_s  # type: ignore[attr-defined]
    assert REKOGNITION_CONFIG.read_timeout == REKOGNITION_LIMITS.read_timeout_s  # type: ignore[attr-defined]


def test_the_slowest_call_waits_out_every_attempt_and_the_sleeps_between() -> None:
    # botocore's standard mode: before retry n at most min(2^(n-1), 20) s, +5 s for a retry-after.
    assert CallLimits(total_attempts=1, connect_timeout_s=5, read_timeout_s=30).worst_call_ms() == 35_000
    assert CallLimits(total_attempts=2, connect_timeout_s=5, read_timeout_s=30).worst_call_ms() == 76_000
    assert CallLimits(total_attempts=3, connect_timeout_s=1, read_timeout_s=1).worst_call_ms() == 19_000
    assert REKOGNITION_LIMITS.worst_call_ms() == REKOGNITION_CALL_MS


def test_the_reserves_cover_the_slowest_rekognition_call() -> None:
    assert job_starts.STEP_RESERVE_MS >= REKOGNITION_CALL_MS
    assert result_paging.PAGE_RESERVE_MS >= REKOGNITION_CALL_MS


def test_a_fresh_invocation_has_room_for_a_step() -> None:
    # Otherwise a message could never be begun, and would wear out its receives.
    assert INGEST_FUNCTION.timeout_s * 1000 > job_starts.STEP_RESERVE_MS
    assert RESULTS_FUNCTION.timeout_s * 1000 > result_paging.PAGE_RESERVE_MS
    assert RESULTS_FUNCTION.timeout_s * 1000 > aggregation.ENGINE_BASE_MS + aggregation.HAND_OFF_MIN_USED_MS


@dataclass
class FakeContext:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_budget_counts_down_with_the_context() -> None:
    context = FakeContext(120_000)
    budget = Budget(context)  # type: ignore[arg-type]
    assert budget.allows(job_starts.STEP_RESERVE_MS)
    context.remaining_ms = 60_000
    assert budget.used_ms() == 60_000
    assert not budget.allows(job_starts.STEP_RESERVE_MS)
    assert Budget(None).remaining_ms() == NO_CONTEXT_MS
