// Read by tests/browser_harness.py: one of the records that record-widget.js keeps ('events', 'streams' or 'grabs').
(record) => window.__recorded[record]
