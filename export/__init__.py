"""Turns models into files the browser runs: MediaPipe's palm detector rebuilt in PyTorch, exported to ONNX."""
