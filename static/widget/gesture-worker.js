/**
 * The Web Worker that recognises gestures, off the page's main thread: it loads onnxruntime-web and the three models,
 * then turns each frame it is sent into one gesture. Frames arrive as ImageBitmaps and never leave this worker.
 *
 * Messages in:  {type: 'load', ortUrl, palmUrl, landmarksUrl, classifierUrl, threads}
 *               {type: 'frame', frame: ImageBitmap}   (one at a time: the page waits for the answer)
 *               {type: 'reset'}                        (new camera or a pause: search the whole frame again)
 *               {type: 'configure', pipeline, gestures} (PipelineSettings over the classifier's, e.g. maxHands;
 *                                                      the gestures a frame is decided among, null: the defaults)
 * Messages out: {type: 'loaded', threads, settings, customGestures} | {type: 'result', ...Decision, detected, regions, timings}
 *               | {type: 'error', message}            (detected: whether the palm detector ran on this frame)
 */

/**
 * The pipeline's own modules, imported dynamically: the worker takes the load message at once and the models and
 * the runtime download while these arrive, instead of after them.
 */
const modules = awaitedLater(Promise.all([import('./landmarks.js'), import('./onnx-metadata.js'),
  import('./pipeline.js'), import('./palm.js')]).then((loaded) => Object.assign({}, ...loaded), (error) => {
  throw new LoadError(`Could not load the gesture worker's modules next to ${self.location.href} (${error.message}).`);
}));

/** What each model file must be, in words, for its load errors. */
async function expected(model) {
  const {INPUT_SIZE, NUM_ANCHORS, NUM_COORDS, NUM_LANDMARKS} = await modules;
  return {
    palm: `MediaPipe's palm detector in onnxruntime's ORT format, input [1, 3, ${INPUT_SIZE}, ${INPUT_SIZE}], outputs `
      + `regressors [1, ${NUM_ANCHORS}, ${NUM_COORDS}] and scores [1, ${NUM_ANCHORS}, 1] (built by "make setup")`,
    landmarks: 'MediaPipe\'s hand landmark model in onnxruntime\'s ORT format, input [1, 3, size, size], outputs '
      + `landmarks [1, ${3 * NUM_LANDMARKS}], presence [1, 1] and handedness [1, 1], with input_size, palm_region, `
      + 'landmark_region and custom_gestures in its metadata (built by "make setup")',
    classifier: 'the gesture classifier in onnxruntime\'s ORT format, with labels, emoji, input_size, mean, std, '
      + 'output, pipeline and reactions in its metadata (written by "python -m export.to_onnx")',
  }[model];
}

/** Each model by its name in `load` messages and `expected`, with what it is in words. */
const MODELS = {palm: 'palm detector', landmarks: 'hand landmark model', classifier: 'gesture classifier'};

/** A model or runtime that could not be loaded: the message names the URL and what was expected there. */
class LoadError extends Error {}

/** The onnxruntime-web files the worker loads: its API (wasm backend only), its Emscripten loader, its wasm. */
const RUNTIME_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
const RUNTIME_EXPECTED = 'the files of the onnxruntime-web package\'s dist folder there (installed by "npm ci")';

/**
 * The first runtime file that cannot be downloaded, in words ("URL answered HTTP 404"), else null: asked only once
 * loading failed, since the runtime's own errors then show the bytes of the error page instead.
 */
async function missingRuntimeFile(ortUrl) {
  for (const name of RUNTIME_FILES) {
    const url = new URL(name, ortUrl).href;
    try {
      const response = await fetch(url, {method: 'HEAD'});
      if (!response.ok) return `${url} answered HTTP ${response.status}`;
    } catch (error) {
      return `${url} could not be downloaded (${error.message}; ${connectHint(url)})`;
    }
  }
  return null;
}

/** A LoadError for a runtime that failed to start: the missing file if there is one, else the runtime's words. */
async function runtimeError(ortUrl, message) {
  const missing = await missingRuntimeFile(ortUrl);
  if (missing) return new LoadError(`Could not load onnxruntime-web: ${missing}. Expected ${RUNTIME_EXPECTED}.`);
  const blocked = /wasm-eval|unsafe-eval|Content.Security.Policy/i.test(message)
    ? ' The page\'s Content-Security-Policy blocks WebAssembly: add \'wasm-unsafe-eval\' to its script-src.' : '';
  return new LoadError(`Could not start onnxruntime-web's WebAssembly runtime from ${ortUrl} (${message}).${blocked}`);
}

/** What to add to a page's Content-Security-Policy when a download from `url` was refused (a network error). */
function connectHint(url) {
  return `If the page has a Content-Security-Policy, its connect-src must allow ${new URL(url).origin}.`;
}

let ort = null;
let pipeline = null;
let classifierDefaults = null; // the classifier's settings as its metadata says, before the page's overrides
let overrides = {};
let chosen = null; // the gestures the host chose (null: the classifier's default gestures)
let frameContext = null; // a 2D context the frame is drawn on to read its pixels

async function download(url, model) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new LoadError(`Could not download the ${MODELS[model]} from ${url} (${error.message}). `
      + `${connectHint(url)} Expected ${await expected(model)}.`);
  }
  if (!response.ok) {
    throw new LoadError(`Could not load the ${MODELS[model]}: ${url} answered HTTP ${response.status}. `
      + `Expected ${await expected(model)}.`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function openSession(bytes, url, model, ortUrl) {
  try {
    return await ort.InferenceSession.create(bytes, {executionProviders: ['wasm'], graphOptimizationLevel: 'all'});
  } catch (error) {
    const message = String(error.message ?? error);
    if (/no available backend/i.test(message)) throw await runtimeError(ortUrl, message); // its .wasm, CSP, ...
    throw new LoadError(`The ${MODELS[model]} at ${url} is not a model onnxruntime-web can run (${message}). `
      + `Expected ${await expected(model)}.`);
  }
}

async function loadRuntime(ortUrl, threads) {
  try {
    ort = await import(new URL(RUNTIME_FILES[0], ortUrl).href);
  } catch (error) {
    throw await runtimeError(ortUrl, error.message);
  }
  ort.env.wasm.wasmPaths = ortUrl;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

/** A model's settings from its metadata, or a LoadError naming the file and what was expected there. */
async function readSettings(bytes, read, url, model) {
  try {
    return read((await modules).readModelMetadata(bytes));
  } catch (error) {
    throw new LoadError(`The ${MODELS[model]} at ${url} cannot be used: ${error.message}. `
      + `Expected ${await expected(model)}.`);
  }
}

/** `promise`, with its failure left for whoever awaits it later (not reported as unhandled meanwhile). */
function awaitedLater(promise) {
  promise.catch(() => {});
  return promise;
}

async function load({ortUrl, palmUrl, landmarksUrl, classifierUrl, threads}) {
  const downloads = [
    awaitedLater(download(palmUrl, 'palm')),
    awaitedLater(download(landmarksUrl, 'landmarks')),
    awaitedLater(download(classifierUrl, 'classifier')),
  ];
  await loadRuntime(ortUrl, threads);
  // the first session starts onnxruntime-web's WebAssembly (fetched and compiled then): as soon as the palm
  // detector is in, while the other two models download
  const palmBytes = await downloads[0];
  const palm = await openSession(palmBytes, palmUrl, 'palm', ortUrl);
  const [landmarkBytes, classifierBytes] = await Promise.all(downloads.slice(1));
  const {FramePipeline, INPUT_SIZE, classifierSettings, landmarkSettings} = await modules;
  const settings = {
    classifier: await readSettings(classifierBytes, classifierSettings, classifierUrl, 'classifier'),
    landmarks: await readSettings(landmarkBytes, landmarkSettings, landmarksUrl, 'landmarks'),
  };
  const {inputSize} = settings.classifier;
  const landmarkSize = settings.landmarks.inputSize;
  const landmarkModel = await openSession(landmarkBytes, landmarksUrl, 'landmarks', ortUrl);
  const classifier = await openSession(classifierBytes, classifierUrl, 'classifier', ortUrl);
  const [regressorsName, scoresName] = ['regressors', 'scores'].map((name, i) =>
    palm.outputNames.includes(name) ? name : palm.outputNames[i]);
  const palmShape = [1, 3, INPUT_SIZE, INPUT_SIZE];
  const landmarkShape = [1, 3, landmarkSize, landmarkSize];
  // no warm-up runs: a model's first runs stay slow until the browser has optimised the runtime's code, so one
  // on a blank input only delayed the first frame (the first prediction came 0.3 s later: benchmarks.browser)
  const [landmarksName, presenceName] = ['landmarks', 'presence'].map((name, i) =>
    landmarkModel.outputNames.includes(name) ? name : landmarkModel.outputNames[i]);
  classifierDefaults = settings.classifier;
  pipeline = new FramePipeline({...settings, classifier: withOverrides()}, {
    detectPalms: async (input) => {
      const outputs = await palm.run({[palm.inputNames[0]]: new ort.Tensor('float32', input, palmShape)});
      return {regressors: outputs[regressorsName].data, scores: outputs[scoresName].data};
    },
    markHand: async (input) => {
      const outputs = await landmarkModel.run({[landmarkModel.inputNames[0]]: new ort.Tensor('float32', input,
        landmarkShape)});
      return {landmarks: outputs[landmarksName].data, presence: outputs[presenceName].data[0]};
    },
    classify: async (input, count) => {
      const shape = [count, 3, inputSize, inputSize];
      const outputs = await classifier.run({[classifier.inputNames[0]]: new ort.Tensor('float32', input, shape)});
      return outputs[classifier.outputNames[0]].data;
    },
  });
  return {threads: ort.env.wasm.numThreads, settings: settings.classifier,
    customGestures: settings.landmarks.customGestures};
}

/** The classifier's settings with the page's pipeline settings over its own. */
function withOverrides() {
  const gestures = classifierDefaults.gestures.filter((gesture) => (chosen ?? classifierDefaults.defaultGestures)
    .includes(gesture));
  return {...classifierDefaults, gestures, pipeline: {...classifierDefaults.pipeline, ...overrides}};
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
    else if (data.type === 'configure') {
      overrides = data.pipeline;
      chosen = data.gestures ?? null;
      if (pipeline) pipeline.classifier = withOverrides();
    }
  } catch (error) {
    const message = error instanceof LoadError ? error.message : `Gesture recognition failed: ${error.message ?? error}`;
    self.postMessage({type: 'error', during: data.type, message});
  }
});
