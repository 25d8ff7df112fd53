"""Thresholds of the metric definitions (docs/metrics.md), with their defaults.

This is the one place the defaults live: the CDK stack, the Lambdas (through environment variables)
and the command line all start from `EngineSettings()` and override single fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace


class SettingsError(ValueError):
    """A threshold is missing its unit, out of range or not a number."""


@dataclass(frozen=True)
class EngineSettings:
    # A person may vanish from the detections this long and still be the same pass.
    track_gap_s: float = 1.0
    # A person hidden behind someone else (their predicted box covered by another's box) may be
    # missing this long and still be the same pass.
    occlusion_gap_s: float = 3.0
    # Shorter passes are detector noise and are not counted.
    min_pass_s: float = 0.5
    # A pass at least this long is a dweller; the rest are passers-by.
    dwell_s: float = 5.0
    # A pass that looked at least this long is an impression.
    min_attention_s: float = 0.5
    # A face sample is "looking" when both |Yaw| and |Pitch| are within these angles.
    looking_yaw_deg: float = 30.0
    looking_pitch_deg: float = 30.0
    # Gender is "unknown" when the confidence-weighted vote is closer than this share.
    gender_min_margin: float = 0.2
    # Faces and person boxes come from two jobs whose sample times need not coincide.
    face_match_tolerance_s: float = 0.25
    # Two detections of a track must overlap at least this much (IoU) after motion prediction...
    min_iou: float = 0.1
    # ...or be no further apart than a person can move in the time between them: a brisk walk
    # (2 m/s) over a body about 0.5 m wide is 4 body widths a second.
    max_speed_widths_per_s: float = 4.0
    # Detections may arrive this far out of time order before the engine sorts the input on disk.
    reorder_window_s: float = 10.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise SettingsError(f"{f.name} must be a finite number, got {value!r}")
            if value < 0:
                raise SettingsError(f"{f.name} must not be negative, got {value}")
        for name in ("looking_yaw_deg", "looking_pitch_deg"):
            if getattr(self, name) > 180:
                raise SettingsError(f"{name} is an angle in degrees between 0 and 180")
        for name in ("gender_min_margin", "min_iou"):
            if getattr(self, name) > 1:
                raise SettingsError(f"{name} is a share between 0 and 1")
        if self.track_gap_s <= 0:
            raise SettingsError(
                "track_gap_s must be positive: without a gap every missed frame splits a pass"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], prefix: str = "DS_") -> EngineSettings:
        """Overrides from variables such as DS_TRACK_GAP_S=1.5; unknown names are ignored."""
        overrides: dict[str, float] = {}
        for f in fields(cls):
            raw = environ.get(prefix + f.name.upper())
            if raw is None or raw == "":
                continue
            try:
                overrides[f.name] = float(raw)
            except ValueError:
                raise SettingsError(f"{prefix}{f.name.upper()}={raw!r} is not a number") from None
        return replace(cls(), **overrides)

    def to_env(self, prefix: str = "DS_") -> dict[str, str]:
        return {prefix + f.name.upper(): repr(float(getattr(self, f.name))) for f in fields(self)}
