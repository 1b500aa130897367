/**
 * The participant's camera: what the browser must offer, opening it, releasing it, and what each failure means
 * for the participant. The stream stays on this page: frames go to the recognition worker and nowhere else.
 */

/** 640 x 480 is plenty for a hand at arm's length and keeps the per-frame work small. */
const VIDEO_CONSTRAINTS = {width: {ideal: 640}, height: {ideal: 480}, frameRate: {ideal: 30}};

/** What this browser lacks to run gesture reactions, as words for the participant; empty when nothing. */
export function missingFeatures() {
  const missing = [];
  if (!window.isSecureContext) missing.push('a secure page (https) for camera access');
  else if (!navigator.mediaDevices?.getUserMedia) missing.push('camera access');
  if (typeof Worker === 'undefined') missing.push('Web Workers');
  if (typeof WebAssembly !== 'object') missing.push('WebAssembly');
  if (typeof OffscreenCanvas === 'undefined' || typeof createImageBitmap === 'undefined') {
    missing.push('OffscreenCanvas');
  }
  return missing;
}

/** @param {string} [deviceId] a camera from enumerateDevices(); the browser's choice when empty */
export function openCamera(deviceId) {
  const video = deviceId ? {...VIDEO_CONSTRAINTS, deviceId: {exact: deviceId}} : VIDEO_CONSTRAINTS;
  return navigator.mediaDevices.getUserMedia({video, audio: false});
}

/** Stop every track, which turns the camera (and its light) off. */
export function releaseCamera(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/**
 * The widget state and message for a getUserMedia failure.
 * @returns {{state: 'permission-denied' | 'no-camera' | 'error', message: string}}
 */
export function cameraFailure(error) {
  const fallback = 'The reaction buttons still work.';
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return {state: 'permission-denied', message: 'Camera access is blocked. Allow the camera for this site '
        + `(the camera icon in the address bar), then turn gesture reactions on again. ${fallback}`};
    case 'NotFoundError':
      return {state: 'no-camera', message: `No camera found. Connect one and turn gesture reactions on again. ${fallback}`};
    case 'OverconstrainedError':
      return {state: 'no-camera', message: `The chosen camera is not available: pick another one. ${fallback}`};
    case 'NotReadableError':
    case 'AbortError':
      return {state: 'error', message: 'The camera could not be started: another application may be using it. '
        + fallback};
    default:
      return {state: 'error', message: `The camera could not be started (${error?.message ?? error}). ${fallback}`};
  }
}
