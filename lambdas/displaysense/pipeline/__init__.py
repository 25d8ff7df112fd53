"""The pipeline's use cases: from an uploaded object to a video's metrics, against small ports."""
