/**
 * The live demo page (/): shows what the widget reports (current gesture, confidence, timings, reactions) and maps
 * the settings form onto its options. Uses only the widget's public API, as a host page would.
 */

const widget = document.querySelector('gesture-reactions');
const form = document.getElementById('settings');
const byId = (id) => document.getElementById(id);

const milliseconds = (value) => `${Math.round(value)} ms`;
const FORMATS = {threshold: (value) => Number(value).toFixed(2), hold: milliseconds, cooldown: milliseconds};

function showSetting(name) {
  byId(`${name}-value`).value = FORMATS[name](form.elements[name].value);
}

function fillForm() {
  const {threshold, hold, cooldown, selfView} = widget.options;
  Object.entries({threshold, hold, cooldown}).forEach(([name, value]) => {
    form.elements[name].value = value;
    showSetting(name);
  });
  byId('self-view').checked = selfView;
}

function emojiOverrides() {
  const overrides = {};
  for (const input of form.querySelectorAll('input[data-gesture]')) {
    if (input.value.trim()) overrides[input.dataset.gesture] = input.value.trim();
  }
  return overrides;
}

/** The gestures ticked to fire reactions (the model's default ones are ticked at first); one stays ticked. */
function chosenGestures(changed) {
  const boxes = [...form.querySelectorAll('input[data-chosen]')];
  if (!boxes.some((box) => box.checked)) changed.checked = true;
  return boxes.filter((box) => box.checked).map((box) => box.dataset.chosen);
}

form.addEventListener('input', (event) => {
  const {name} = event.target;
  if (name in FORMATS) {
    widget[name] = Number(event.target.value);
    showSetting(name);
  } else if (name.startsWith('react-')) {
    widget.gestures = chosenGestures(event.target);
  } else if (name.startsWith('emoji-')) {
    widget.emoji = emojiOverrides();
  } else if (name === 'self-view') {
    widget.selfView = event.target.checked;
  } else if (name === 'camera') {
    widget.deviceId = event.target.value;
  }
});
form.addEventListener('submit', (event) => event.preventDefault());

/** Camera names are only readable once the participant has allowed the camera. */
async function listCameras() {
  const select = byId('camera');
  const devices = await navigator.mediaDevices?.enumerateDevices?.() ?? [];
  const cameras = devices.filter((device) => device.kind === 'videoinput' && device.deviceId);
  select.replaceChildren(new Option('Default camera', ''),
    ...cameras.map((camera, i) => new Option(camera.label || `Camera ${i + 1}`, camera.deviceId)));
  select.value = widget.deviceId;
}
navigator.mediaDevices?.addEventListener?.('devicechange', listCameras);

widget.addEventListener('statechange', ({detail}) => {
  byId('state').textContent = detail.state;
  byId('threads').textContent = String(detail.threads);
  if (detail.state === 'running') listCameras();
});

widget.addEventListener('gesture', ({detail}) => {
  const {gesture, confidence, detected, timings} = detail;
  byId('current-gesture').textContent = gesture === 'none' ? 'No gesture' : gesture;
  byId('current-emoji').textContent = widget.emoji[gesture] ?? '';
  byId('current-confidence').value = confidence;
  byId('current-confidence-text').textContent = `${Math.round(confidence * 100)}%`;
  // frames that track the hands by their landmarks do not run the detector
  byId('timing-palm').textContent = detected === false ? 'tracking' : `${timings.palm.toFixed(1)} ms`;
  byId('timing-landmarks').textContent = `${timings.landmarks.toFixed(1)} ms`;
  byId('timing-classifier').textContent = `${timings.classifier.toFixed(1)} ms`;
  byId('timing-total').textContent = `${timings.total.toFixed(1)} ms`;
});

widget.addEventListener('reaction', ({detail}) => {
  const item = document.createElement('li');
  const emoji = document.createElement('span');
  emoji.className = 'feed-emoji';
  emoji.textContent = detail.emoji;
  const how = detail.source === 'manual' ? 'button' : `camera, ${Math.round(detail.confidence * 100)}%`;
  item.append(emoji, ` ${detail.gesture} · ${how} · ${new Date().toLocaleTimeString()}`);
  byId('feed').prepend(item);
  byId('feed-empty').hidden = true;
});

/** The taught gestures, each with a button that forgets it. */
function listTaught() {
  byId('taught').replaceChildren(...widget.customGestures.map(({name, emoji}) => {
    const item = document.createElement('li');
    const forget = document.createElement('button');
    forget.type = 'button';
    forget.textContent = 'Forget';
    forget.addEventListener('click', () => {
      widget.forgetGesture(name);
      listTaught();
    });
    item.append(`${emoji} ${name} `, forget);
    return item;
  }));
}

byId('teach').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = byId('teach-name').value.trim();
  const emoji = byId('teach-emoji').value.trim() || '✨';
  const result = byId('teach-result');
  result.textContent = `Show “${name}” to the camera and hold it still…`;
  try {
    await widget.learnGesture(name, {emoji});
    result.textContent = `Learned “${name}” ${emoji}: show it to react.`;
  } catch (error) {
    result.textContent = error.message;
  }
  listTaught();
});

// the form starts from the model's defaults, known once the widget has read its metadata
customElements.whenDefined('gesture-reactions').then(() => {
  listTaught();
  return widget.ready;
}).then(fillForm);
