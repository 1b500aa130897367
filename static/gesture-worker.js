/**
 * The Web Worker that recognises gestures, off the page's main thread: it loads onnxruntime-web and the two models,
 * then turns each frame it is sent into one gesture. Frames arrive as ImageBitmaps and never leave this worker.
 *
 * Messages in:  {type: 'load', ortUrl, palmUrl, classifierUrl, threads}
 *               {type: 'frame', frame: ImageBitmap}   (one at a time: the page waits for the answer)
 *               {type: 'reset'}                        (new camera or a pause: search the whole frame again)
 * Messages out: {type: 'loaded', threads, settings} | {type: 'result', ...Decision, detected, timings}
 *               | {type: 'error', message}            (detected: whether the palm detector ran on this frame)
 */

import {classifierSettings, readOnnxMetadata} from './onnx-metadata.js';
import {FramePipeline} from './pipeline.js';
import {INPUT_SIZE, NUM_ANCHORS, NUM_COORDS} from './palm.js';

const PALM_EXPECTED = `MediaPipe's palm detector as ONNX, input [1, 3, ${INPUT_SIZE}, ${INPUT_SIZE}], outputs `
  + `regressors [1, ${NUM_ANCHORS}, ${NUM_COORDS}] and scores [1, ${NUM_ANCHORS}, 1] (built by "make setup")`;
const CLASSIFIER_EXPECTED = 'the gesture classifier as ONNX, with labels, emoji, input_size, mean, std, output, '
  + 'pipeline and reactions in its metadata (written by "python -m export.to_onnx")';

/** A model or runtime that could not be loaded: the message names the URL and what was expected there. */
class LoadError extends Error {}

let ort = null;
let pipeline = null;
let frameContext = null; // a 2D context the frame is drawn on to read its pixels

async function download(url, what, expected) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new LoadError(`Could not download the ${what} from ${url} (${error.message}). Expected ${expected}.`);
  }
  if (!response.ok) {
    throw new LoadError(`Could not load the ${what}: ${url} answered HTTP ${response.status}. Expected ${expected}.`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function openSession(bytes, url, what, expected, ortUrl) {
  try {
    return await ort.InferenceSession.create(bytes, {executionProviders: ['wasm'], graphOptimizationLevel: 'all'});
  } catch (error) {
    const message = String(error.message ?? error);
    if (/no available backend/i.test(message)) { // the runtime, not the model, failed (its .wasm, CSP, ...)
      throw new LoadError(`Could not start onnxruntime-web's WebAssembly runtime from ${ortUrl} (${message}).`);
    }
    throw new LoadError(`The ${what} at ${url} is not a model onnxruntime-web can run (${message}). `
      + `Expected ${expected}.`);
  }
}

async function loadRuntime(ortUrl, threads) {
  const moduleUrl = new URL('ort.wasm.min.mjs', ortUrl).href;
  try {
    ort = await import(moduleUrl);
  } catch (error) {
    throw new LoadError(`Could not load onnxruntime-web from ${moduleUrl} (${error.message}). Expected the files of `
      + 'the onnxruntime-web package\'s dist folder there (installed by "npm ci").');
  }
  ort.env.wasm.wasmPaths = ortUrl;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

async function load({ortUrl, palmUrl, classifierUrl, threads}) {
  const [palmBytes, classifierBytes] = await Promise.all([
    download(palmUrl, 'palm detector', PALM_EXPECTED),
    download(classifierUrl, 'gesture classifier', CLASSIFIER_EXPECTED),
    loadRuntime(ortUrl, threads),
  ]);
  let settings;
  try {
    settings = classifierSettings(readOnnxMetadata(classifierBytes));
  } catch (error) {
    throw new LoadError(`The gesture classifier at ${classifierUrl} cannot be used: ${error.message}. `
      + `Expected ${CLASSIFIER_EXPECTED}.`);
  }
  const palm = await openSession(palmBytes, palmUrl, 'palm detector', PALM_EXPECTED, ortUrl);
  const classifier = await openSession(classifierBytes, classifierUrl, 'gesture classifier', CLASSIFIER_EXPECTED,
    ortUrl);
  const [regressorsName, scoresName] = ['regressors', 'scores'].map((name, i) =>
    palm.outputNames.includes(name) ? name : palm.outputNames[i]);
  const palmShape = [1, 3, INPUT_SIZE, INPUT_SIZE];
  const crop = [1, 3, settings.inputSize, settings.inputSize];
  // a session's first run prepares its kernels (hundreds of ms): do it now, while the camera starts
  await palm.run({[palm.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * INPUT_SIZE ** 2), palmShape)});
  await classifier.run({[classifier.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * crop[2] ** 2), crop)});
  pipeline = new FramePipeline(
    settings,
    async (input) => {
      const outputs = await palm.run({[palm.inputNames[0]]: new ort.Tensor('float32', input, palmShape)});
      return {regressors: outputs[regressorsName].data, scores: outputs[scoresName].data};
    },
    async (input, count) => {
      const shape = [count, 3, settings.inputSize, settings.inputSize];
      const outputs = await classifier.run({[classifier.inputNames[0]]: new ort.Tensor('float32', input, shape)});
      return outputs[classifier.outputNames[0]].data;
    },
  );
  return {threads: ort.env.wasm.numThreads, settings};
}

function pixels(frame) {
  const {width, height} = frame;
  if (frameContext?.canvas.width !== width || frameContext.canvas.height !== height) {
    frameContext = new OffscreenCanvas(width, height).getContext('2d', {willReadFrequently: true});
  }
  frameContext.drawImage(frame, 0, 0);
  return frameContext.getImageData(0, 0, width, height).data;
}

async function recognise(frame) {
  const start = performance.now();
  try {
    const {width, height} = frame;
    const result = await pipeline.process(pixels(frame), width, height);
    return {...result, timings: {...result.timings, total: performance.now() - start}};
  } finally {
    frame.close();
  }
}

self.addEventListener('message', async ({data}) => {
  try {
    if (data.type === 'load') self.postMessage({type: 'loaded', ...await load(data)});
    else if (data.type === 'frame') self.postMessage({type: 'result', ...await recognise(data.frame)});
    else if (data.type === 'reset') pipeline?.reset();
  } catch (error) {
    const message = error instanceof LoadError ? error.message : `Gesture recognition failed: ${error.message ?? error}`;
    self.postMessage({type: 'error', during: data.type, message});
  }
});
