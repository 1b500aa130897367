"""The web server: the demo pages, the widget's files, the models and onnxruntime-web. It never receives images."""
