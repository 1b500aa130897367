// MediaPipe's Gesture Recognizer on the camera, for benchmarks.time_to_reaction --with-mediapipe (never part of the
// product): each new video frame, when the recognizer is free, is grabbed, recognised on this page's thread (as
// tasks-vision runs), and reported as a `gesture` event shaped like the widget's: Thumb_Up -> like, Thumb_Down ->
// dislike, anything else none (it has no OK sign).
import {FilesetResolver, GestureRecognizer} from './tasks-vision/vision_bundle.mjs';

const LABELS = {Thumb_Up: 'like', Thumb_Down: 'dislike'};
const target = document.querySelector('gesture-reactions');
const video = document.querySelector('video');

const vision = await FilesetResolver.forVisionTasks(new URL('tasks-vision/wasm', location.href).href);
const recognizer = await GestureRecognizer.createFromOptions(vision, {
  baseOptions: {modelAssetPath: new URL('model.task', location.href).href, delegate: 'CPU'},
  runningMode: 'VIDEO', numHands: 2,
});
video.srcObject = await navigator.mediaDevices.getUserMedia(
  {video: {width: {ideal: 640}, height: {ideal: 480}, frameRate: {ideal: 30}}});
await video.play();

async function recognise() {
  const timestamp = performance.now();
  const frame = await createImageBitmap(video);
  const start = performance.now();
  const result = recognizer.recognizeForVideo(frame, start);
  const total = performance.now() - start;
  frame.close();
  let gesture = 'none';
  let confidence = 0;
  for (const [top] of result.gestures) {
    const label = LABELS[top?.categoryName];
    if (label && top.score > confidence) [gesture, confidence] = [label, top.score];
  }
  target.dispatchEvent(new CustomEvent('gesture', {detail: {gesture, confidence,
    hands: result.landmarks.map(() => ({})), detected: false, timestamp, timings: {total}}}));
  video.requestVideoFrameCallback(recognise);
}
video.requestVideoFrameCallback(recognise);
