"""Emotions from `fer`'s bundled quantized CNN (FER-2013 classes), mapped to Rekognition's types."""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import Box, Image
from .models import EMOTION, TfliteModel

# Output order of the fer model (fer.FER._get_labels) and Rekognition's name for each class.
# FER-2013 has no "confused" class, so CONFUSED is never reported.
FER_TO_REKOGNITION = ("ANGRY", "DISGUSTED", "FEAR", "HAPPY", "SAD", "SURPRISED", "CALM")
_INPUT = 64
# fer widens its square face box by 10 px at its 50 px minimum face size: a fifth per side.
_MARGIN = 0.2


class EmotionModel:
    def __init__(self) -> None:
        self._model = TfliteModel(EMOTION)

    def emotions(self, gray: Image, face: Box) -> dict[str, float]:
        """Probability (0-1) of each Rekognition emotion type for the face in a grayscale frame."""
        side = max(face.width, face.height) * (1 + 2 * _MARGIN)
        cx, cy = face.center
        x0, y0 = round(cx - side / 2), round(cy - side / 2)
        size = max(1, round(side))
        # Pad with the frame's edge so faces at the border keep their geometry.
        pad = size
        padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        crop = padded[y0 + pad : y0 + pad + size, x0 + pad : x0 + pad + size]
        face64 = cv2.resize(crop, (_INPUT, _INPUT), interpolation=cv2.INTER_AREA)
        tensor = ((face64.astype(np.float32) / 255.0 - 0.5) * 2.0)[np.newaxis, :, :, np.newaxis]
        probabilities = self._model.run(tensor)[0].reshape(-1)
        return {name: float(p) for name, p in zip(FER_TO_REKOGNITION, probabilities, strict=True)}
