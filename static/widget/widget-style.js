/**
 * The widget's look, as a constructed stylesheet adopted by its shadow root: no extra request, nothing for the
 * host page's CSP to allow, and no host styles leaking in. Hosts theme it through the custom properties on :host.
 */

const CSS = `
:host {
  --gesture-reactions-accent: #2563eb;
  --gesture-reactions-background: #ffffff;
  --gesture-reactions-text: #1f2328;
  --gesture-reactions-muted: #59636e;
  --gesture-reactions-border: #d1d9e0;
  display: inline-block;
  width: 20rem;
  max-width: 100%;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--gesture-reactions-text);
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }

.widget {
  position: relative;
  display: grid;
  gap: 0.5rem;
  padding: 0.75rem;
  border: 1px solid var(--gesture-reactions-border);
  border-radius: 0.75rem;
  background: var(--gesture-reactions-background);
  overflow: hidden;
}

.view {
  position: relative;
  aspect-ratio: 4 / 3;
  border-radius: 0.5rem;
  overflow: hidden;
  background: #111;
}
.mirror { position: absolute; inset: 0; transform: scaleX(-1); }
video { display: block; width: 100%; height: 100%; object-fit: fill; }
.hand {
  position: absolute;
  border: 3px solid var(--gesture-reactions-accent);
  border-radius: 0.5rem;
  box-shadow: 0 0 0 1px rgb(255 255 255 / 0.6);
}
.hand[data-gesture="none"] { border-style: dashed; border-color: rgb(255 255 255 / 0.7); }

.bar { display: flex; align-items: center; gap: 0.5rem; flex-wrap: wrap; }
.toggle {
  display: inline-flex;
  align-items: center;
  gap: 0.5rem;
  padding: 0.375rem 0.75rem 0.375rem 0.375rem;
  border: 1px solid var(--gesture-reactions-border);
  border-radius: 999px;
  background: transparent;
  color: inherit;
  font: inherit;
  font-weight: 600;
  cursor: pointer;
}
.switch {
  position: relative;
  width: 2.25rem;
  height: 1.25rem;
  border-radius: 999px;
  background: var(--gesture-reactions-muted);
  transition: background 0.15s;
}
.switch::after {
  content: "";
  position: absolute;
  top: 0.125rem;
  left: 0.125rem;
  width: 1rem;
  height: 1rem;
  border-radius: 50%;
  background: #fff;
  transition: transform 0.15s;
}
.toggle[aria-pressed="true"] .switch { background: var(--gesture-reactions-accent); }
.toggle[aria-pressed="true"] .switch::after { transform: translateX(1rem); }
button:focus-visible { outline: 3px solid var(--gesture-reactions-accent); outline-offset: 2px; }

.hold {
  --progress: 0;
  display: grid;
  place-items: center;
  width: 2.5rem;
  height: 2.5rem;
  border-radius: 50%;
  background: conic-gradient(var(--gesture-reactions-accent) calc(var(--progress) * 1turn),
    var(--gesture-reactions-border) 0);
  visibility: hidden;
}
.hold[data-phase="holding"], .hold[data-phase="fired"] { visibility: visible; }
.hold-emoji {
  display: grid;
  place-items: center;
  width: 2rem;
  height: 2rem;
  border-radius: 50%;
  background: var(--gesture-reactions-background);
  font-size: 1.25rem;
}

.badge {
  margin-left: auto;
  padding: 0.125rem 0.5rem;
  border-radius: 999px;
  background: #dafbe1;
  color: #116329;
  font-size: 0.75rem;
  font-weight: 600;
  white-space: nowrap;
}

.status, .note { margin: 0; overflow-wrap: anywhere; } /* a long URL in a message wraps */
.status[data-state="no-camera"], .status[data-state="permission-denied"], .status[data-state="unsupported"],
.status[data-state="error"] { color: #b42318; font-weight: 600; }
.note { color: var(--gesture-reactions-muted); font-size: 0.8125rem; }

.raised { margin: 0; display: flex; gap: 0.5rem; align-items: center; font-weight: 600; }
.learning { margin: 0; font-weight: 600; }
.raised-emoji { font-size: 1.5rem; }
.lower-hand {
  border: 1px solid var(--gesture-reactions-border);
  border-radius: 0.5rem;
  background: transparent;
  color: inherit;
  font: inherit;
  font-weight: 400;
  padding: 0.25rem 0.625rem;
  cursor: pointer;
}
.lower-hand:hover { background: rgb(127 127 127 / 0.1); }
.buttons { display: flex; gap: 0.375rem; align-items: center; flex-wrap: wrap; }
.buttons-label { color: var(--gesture-reactions-muted); font-size: 0.8125rem; }
.react {
  min-width: 2.5rem;
  height: 2.5rem;
  border: 1px solid var(--gesture-reactions-border);
  border-radius: 0.5rem;
  background: transparent;
  font-size: 1.25rem;
  cursor: pointer;
}
.react:hover, .toggle:hover { background: rgb(127 127 127 / 0.1); }

.burst {
  position: absolute;
  left: 50%;
  bottom: 30%;
  font-size: 4rem;
  pointer-events: none;
  animation: burst 1.2s ease-out forwards;
}
@keyframes burst {
  0% { transform: translate(-50%, 2rem) scale(0.4); opacity: 0; }
  20% { transform: translate(-50%, 0) scale(1.15); opacity: 1; }
  100% { transform: translate(-50%, -3rem) scale(1); opacity: 0; }
}
@media (prefers-reduced-motion: reduce) {
  .burst { animation: fade 1.2s linear forwards; }
  @keyframes fade { from { opacity: 1; transform: translateX(-50%); } to { opacity: 0; transform: translateX(-50%); } }
}

.visually-hidden {
  position: absolute;
  width: 1px;
  height: 1px;
  overflow: hidden;
  clip-path: inset(50%);
  white-space: nowrap;
}
`;

/** One stylesheet shared by every widget on the page. */
let sheet = null;

export function widgetStyles() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}
