"""The web server: serves the page and, later, the widget and the models. It never receives images."""
