// Read by tests/browser_harness.py: everything the widget shows as text (its open shadow root).
() => document.querySelector('gesture-reactions').shadowRoot.textContent
