/**
 * The participant's camera: what the browser must offer, opening it, releasing it, and what each failure means
 * for the participant. The stream stays on this page: frames go to the recognition worker and nowhere else.
 */

/** 640 x 480 is plenty for a hand at arm's length and keeps the per-frame work small. */
const VIDEO_CONSTRAINTS = {width: {ideal: 640}, height: {ideal: 480}, frameRate: {ideal: 30}};

/**
 * What this browser lacks to run gesture reactions, as words for the participant; empty when nothing.
 * @param {{hostStream?: boolean}} [options] hostStream: the page gives its own stream, so camera access is not needed
 */
export function missingFeatures({hostStream = false} = {}) {
  const missing = [];
  if (!hostStream && !window.isSecureContext) missing.push('a secure page (https) for camera access');
  else if (!hostStream && !navigator.mediaDevices?.getUserMedia) missing.push('camera access');
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
 * The widget state, the error code and the message for a getUserMedia failure.
 * @returns {{state: 'permission-denied' | 'no-camera' | 'error', code: string, message: string}}
 */
export function cameraFailure(error) {
  const fallback = 'The reaction buttons still work.';
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return {state: 'permission-denied', code: 'permission-denied', message: 'Camera access is blocked. Allow the '
        + 'camera for this site (the camera icon in the address bar), then turn gesture reactions on again. '
        + fallback};
    case 'NotFoundError':
      return {state: 'no-camera', code: 'no-camera',
        message: `No camera found. Connect one and turn gesture reactions on again. ${fallback}`};
    case 'OverconstrainedError':
      return {state: 'no-camera', code: 'camera-unavailable',
        message: `The chosen camera is not available: pick another one. ${fallback}`};
    case 'NotReadableError':
    case 'AbortError':
      return {state: 'error', code: 'camera-busy', message: 'The camera could not be started: another application '
        + `may be using it. ${fallback}`};
    default:
      return {state: 'error', code: 'camera-error',
        message: `The camera could not be started (${error?.message ?? error}). ${fallback}`};
  }
}

/** The state, code and message when the camera's track ends while in use (unplugged, or taken by another app). */
export function cameraEnded() {
  return {state: 'no-camera', code: 'camera-ended', message: 'The camera stopped: it was unplugged, turned off or '
    + 'taken by another application. Turn gesture reactions on again to reconnect. The reaction buttons still work.'};
}
