"""What the stand-in sees in a frame: persons (OpenCV), faces, head pose and emotions (bundled models)."""
