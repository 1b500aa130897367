// Read by tests/browser_harness.py: the page's clock (performance.now(): ms since navigation start) and whether it
// is cross-origin isolated (what lets onnxruntime-web run wasm threads).
() => ({now: performance.now(), crossOriginIsolated: window.crossOriginIsolated})
