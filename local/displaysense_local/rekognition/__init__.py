"""A local stand-in for Amazon Rekognition Video (label and face detection) for local mode.

It speaks Rekognition's JSON protocol, reads footage from the local AWS emulator's S3, analyses
the real frames with models bundled in installed packages, and announces finished jobs on the
emulator's SNS like Rekognition does. See docs/rekognition-standin.md.
"""

from .jobs import StandInSettings
from .server import RekognitionStandIn

__all__ = ["RekognitionStandIn", "StandInSettings"]
