// Read by tests/browser_harness.py: calls start() on the page's widget without waiting for it; its events tell how
// it went.
() => {
  document.querySelector('gesture-reactions').start().catch(() => {});
}
