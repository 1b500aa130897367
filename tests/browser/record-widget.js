// Installed by tests/browser_harness.py in every page before the page's own scripts, called with the size of the
// photo-number marker the fake-camera clips carry (tests/camera_clips.py: {bits, block}).
// Records every event the widget dispatches, every camera stream the page gets (and its track), and every video
// frame the widget grabs (with the photo number the clip marked it with), timed by performance.now(): ms since
// navigation start.
({bits, block}) => {
  const recorded = window.__recorded = {events: [], streams: [], grabs: []};
  window.__tracks = []; // the camera tracks themselves, for tests that end them as an unplugged camera would
  for (const type of ['gesture', 'reaction', 'statechange', 'error', 'raise-hand', 'lower-hand', 'learning']) {
    document.addEventListener(type, (event) => {
      if (event.target?.localName !== 'gesture-reactions') return;
      recorded.events.push({type, detail: JSON.parse(JSON.stringify(event.detail ?? null)), at: performance.now()});
    }, true);
  }
  const media = navigator.mediaDevices;
  if (!media) return;
  const getUserMedia = media.getUserMedia.bind(media);
  media.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    const track = stream.getVideoTracks()[0];
    recorded.streams.push({at: performance.now(), constraints, settings: track ? track.getSettings() : null});
    if (track) window.__tracks.push(track);
    return stream;
  };
  const strip = new OffscreenCanvas(bits * block, block).getContext('2d', {willReadFrequently: true});
  const photoNumber = (image) => {
    strip.drawImage(image, 0, 0, bits * block, block, 0, 0, bits * block, block);
    const pixels = strip.getImageData(0, 0, bits * block, block).data;
    let number = 0;
    for (let bit = 0; bit < bits; bit++) {
      if (pixels[((block >> 1) * bits * block + bit * block + (block >> 1)) * 4 + 1] > 64) number |= 1 << bit;
    }
    return number;
  };
  // the widget grabs each frame with createImageBitmap(video): the photo number is read from that very bitmap
  // (the video element itself may already show a newer frame) before the widget hands it to its worker
  const createImageBitmap = window.createImageBitmap;
  window.createImageBitmap = async function (source, ...rest) {
    const at = performance.now();
    const bitmap = await createImageBitmap.call(this, source, ...rest);
    if (source instanceof HTMLVideoElement) recorded.grabs.push({at, photo: photoNumber(bitmap)});
    return bitmap;
  };
}
