/**
 * The recognition worker seen from the page: started (also when the widget comes from another origin), loaded,
 * and sent one frame at a time, each answered by one result.
 */

/** Workers may only be started from the page's own origin: from elsewhere, start one from a blob that imports ours. */
function startWorker(url) {
  const options = {type: 'module', name: 'gesture-reactions'};
  if (url.origin === location.origin) return {worker: new Worker(url, options), shim: null};
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], {type: 'text/javascript'}));
  return {worker: new Worker(shim, options), shim};
}

/** The worker is gone or hung: it stopped answering, or failed outside any request. */
export class WorkerLostError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WorkerLostError';
  }
}

export class GestureEngine {
  /** @param {URL} workerUrl the worker module (gesture-worker.js) */
  constructor(workerUrl) {
    this.workerUrl = workerUrl;
    this.pending = []; // the worker answers in order, one answer per load or frame
    this.loaded = false;
    this.answered = 0; // frames answered: the first may take longer
    this.lost = null; // the WorkerLostError once the worker is gone: every later request fails with it
    try {
      ({worker: this.worker, shim: this.shim} = startWorker(workerUrl));
    } catch (error) { // a page's CSP may refuse it at once
      this.worker = null;
      this.shim = null;
      this.lost = new WorkerLostError(this.#notStarted(` (${error.message})`));
      return;
    }
    this.worker.addEventListener('message', ({data}) => {
      const request = this.pending.shift();
      if (!request) return;
      clearTimeout(request.timer);
      if (data.type === 'error') request.reject(new Error(data.message));
      else request.resolve(data);
    });
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      const words = event.message ? ` (${event.message})` : '';
      this.#lose(this.loaded ? `The gesture recognition worker stopped${words}.` : this.#notStarted(words));
    });
  }

  #notStarted(words) {
    return `Could not start the gesture recognition worker from ${this.workerUrl.href}${words}. If the page has a `
      + `Content-Security-Policy, its worker-src must allow ${this.workerUrl.origin} and blob:.`;
  }

  /** Give the worker up: it is stopped, and every request waiting or to come fails with `message`. */
  #lose(message) {
    this.lost ??= new WorkerLostError(message);
    this.worker?.terminate();
    for (const request of this.pending.splice(0)) {
      clearTimeout(request.timer);
      request.reject(this.lost);
    }
  }

  #request(message, transfer = [], timeoutMs = 0) {
    if (this.lost) return Promise.reject(this.lost);
    return new Promise((resolve, reject) => {
      const request = {resolve, reject, timer: 0};
      if (timeoutMs) {
        request.timer = setTimeout(() => this.#lose('The gesture recognition worker stopped answering (no answer '
          + `to a frame in ${timeoutMs / 1000} s).`), timeoutMs);
      }
      this.pending.push(request);
      this.worker.postMessage(message, transfer);
    });
  }

  /**
   * Load onnxruntime-web and the models.
   * @returns {Promise<{threads: number, settings: object}>} threads actually used; the classifier's settings
   */
  load({ortUrl, palmUrl, landmarksUrl, classifierUrl, threads}) {
    return this.#request({type: 'load', ortUrl: ortUrl.href, palmUrl: palmUrl.href, landmarksUrl: landmarksUrl.href,
      classifierUrl: classifierUrl.href, threads}).then((loaded) => {
      this.loaded = true;
      return loaded;
    });
  }

  /**
   * The gesture in one frame; the frame is handed over to the worker (and closed there). Rejects with a
   * WorkerLostError when no answer comes within `timeoutMs`, and the worker is then given up.
   */
  recognise(frame, timeoutMs) {
    if (this.lost) frame.close(); // not handed over
    return this.#request({type: 'frame', frame}, [frame], timeoutMs).then((result) => {
      this.answered += 1;
      return result;
    });
  }

  /**
   * Pipeline settings over the classifier's (maxHands, minPalmScore, minGestureScore), from the next frame on; an
   * empty object puts the classifier's back. `gestures`: the ones a frame is decided among (null: the classifier's defaults).
   */
  configure(pipeline, gestures = null) {
    this.worker?.postMessage({type: 'configure', pipeline, gestures});
  }

  /** The next frames come from a new camera or after a pause. */
  reset() {
    this.worker?.postMessage({type: 'reset'});
  }

  close() {
    this.worker?.terminate();
    if (this.shim) URL.revokeObjectURL(this.shim);
    for (const request of this.pending.splice(0)) {
      clearTimeout(request.timer);
      request.reject(new Error('closed'));
    }
  }
}
