"""Request and response models: they validate the upload body and document every route in OpenAPI.

Responses are built as plain dicts by the service (a 90-day hourly series is thousands of
buckets; validating it again through pydantic would only cost time); these models describe them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STORE_PATTERN = r"^(?:_unassigned|[a-z0-9][a-z0-9-]{0,63})$"
VIDEO_ID_PATTERN = r"^[0-9a-f]{32}$"
Granularity = Literal["15m", "hour", "day", "week"]
Status = Literal["QUEUED", "ANALYZING", "SUCCEEDED", "FAILED", "REJECTED"]


class ErrorDetail(BaseModel):
    parameter: str | None = Field(description="the query, path or body parameter at fault")
    message: str = Field(description="what is wrong with it and how to fix it")
    details: list[dict[str, Any]] | None = Field(default=None, description="every problem, when several")


class ErrorBody(BaseModel):
    error: ErrorDetail


class GatewayRefusal(BaseModel):
    """API Gateway's own answer to a request without a valid API key; the handler never sees it."""

    message: str = Field(description="Forbidden")


class UploadBody(BaseModel):
    """A recording a client is about to upload."""

    model_config = ConfigDict(extra="forbid", str_max_length=256)

    store: str = Field(
        description="store id: 1–64 of a-z, 0-9, '-', starting with a letter or digit", examples=["store-001"]
    )
    camera: str = Field(description="camera id, same rules as store", examples=["cam-01"])
    recorded_at: str = Field(
        description="UTC start of the recording, ISO 8601", examples=["2026-11-24T14:00:00Z"]
    )
    content_type: str = Field(description="video/mp4 or video/quicktime", examples=["video/mp4"])
    size: int = Field(
        description="bytes of the file (at most DS_MAX_VIDEO_BYTES)", ge=0, le=2**53, examples=[52428800]
    )


class UploadTicket(BaseModel):
    method: Literal["PUT"]
    url: str = Field(description="presigned S3 URL; PUT the file there with the headers below")
    headers: dict[str, str]
    key: str = Field(description="the drop-folder key the file will have")
    recorded_at: str
    expires_at: str
    max_bytes: int


class Summary(BaseModel):
    """The engine's summary keys (domain.metrics.summarize); ratios are null when undefined, and
    an attribute that is not available (faces were seen, none carried it: `availability` false)
    is null, not zeros: `gender`, `age` or `mood` as a whole, an accessory's share."""

    model_config = ConfigDict(extra="allow")

    foot_traffic: int
    passers_by: int
    dwellers: int
    impressions: int
    engagement_rate: float | None
    dwell_s_total: float
    dwell_s_avg: float | None
    attention_s_total: float
    attention_s_avg: float | None
    occupancy_peak: int
    occupancy_mean: float | None
    observed_s: float
    faces: int
    gender: dict[str, int] | None = Field(description="passes by gender; null when not available")
    age: dict[str, int] | None = Field(description="passes by age bucket; null when not available")
    mood: dict[str, int] | None = Field(description="passes by dominant mood; null when not available")
    mood_index: float | None
    accessories: dict[str, float | None]
    estimated: dict[str, int]


class SeriesBucket(Summary):
    start: str = Field(description="bucket start, ISO 8601 with the zone's offset")
    end: str


class Period(BaseModel):
    from_: str = Field(alias="from")
    to: str
    totals: Summary


class MetricsDocument(BaseModel):
    store: str
    camera: str | None
    cameras: list[str]
    granularity: Granularity
    tz: str
    grain: str = Field(
        description="stored grain the buckets were rolled up from: 15m, 1h, or 1h+30m / 1h+15m (hours "
        "starting half or a quarter past the UTC hour, for zones such as India or Nepal); several, "
        "comma-separated, across Lord Howe's 30-minute DST change"
    )
    from_: str = Field(alias="from", description="start of the first bucket")
    to: str = Field(description="end of the last bucket")
    totals: Summary
    availability: dict[str, bool] = Field(
        description="false for an attribute no face carried although faces were seen (not estimated, "
        "e.g. local mode): its values in totals and series are then null (empty in CSV), not zeros"
    )
    series: list[SeriesBucket]
    previous: Period | None = Field(default=None, description="the period just before, with previous=true")


class CameraEntry(BaseModel):
    camera: str
    first_recorded_at: str | None
    last_recorded_at: str | None
    counts: dict[str, int] = Field(description="videos by status")


class StoreEntry(BaseModel):
    store: str
    first_recorded_at: str | None
    last_recorded_at: str | None
    counts: dict[str, int]
    cameras: list[CameraEntry]


class StoreList(BaseModel):
    stores: list[StoreEntry]


class VideoTimings(BaseModel):
    registered_at: str
    analyzed_at: str | None
    updated_at: str
    analysis_s: float | None = Field(description="from registration to metrics written")
    duration_s: float | None


class VideoDocument(BaseModel):
    video_id: str
    store: str
    camera: str
    key: str
    size: int
    recorded_at: str
    status: Status
    reason: str | None = Field(
        description=(
            "why it was REJECTED (what to fix) or FAILED (Rekognition's message); while QUEUED, why "
            "Rekognition has not started it yet (what devops should check), else null"
        )
    )
    created_at: str
    updated_at: str
    analyzed_at: str | None
    duration_s: float | None
    jobs: dict[str, dict[str, Any]]
    summary: Summary | None
    timings: VideoTimings
    availability: dict[str, bool] | None


class VideoPage(BaseModel):
    videos: list[VideoDocument]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last")


class ComparisonSide(BaseModel):
    side: str
    store: str
    camera: str | None
    from_: str = Field(alias="from")
    to: str
    foot_traffic: int
    impressions: int
    engagement_rate: float | None
    credible_interval_95: list[float]


class ComparisonDocument(BaseModel):
    a: ComparisonSide
    b: ComparisonSide
    tz: str
    metric: Literal["engagement_rate"]
    p_b_better: float = Field(description="posterior probability that B's engagement rate is higher")
    expected_lift: float | None = Field(description="E[(pB - pA) / pA]; null when A has no impression")
    lift_credible_interval_95: list[float]
    expected_difference: float
    difference_credible_interval_95: list[float]
