"""The Python runtime: one frame in, one gesture out, with numpy, Pillow and onnxruntime only (no PyTorch).

It is the browser's worker in Python and the bottom of the house: training, export, the command-line tools and
the server build on it, and nothing in it imports from them.
"""
