"""The Python runtime: one frame in, one gesture out, with numpy, Pillow and onnxruntime only (no PyTorch).
The browser's worker in Python and the bottom layer: everything else builds on it, and it imports none of them.
"""
