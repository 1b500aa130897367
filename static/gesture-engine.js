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

export class GestureEngine {
  /** @param {URL} workerUrl the worker module (gesture-worker.js) */
  constructor(workerUrl) {
    this.workerUrl = workerUrl;
    ({worker: this.worker, shim: this.shim} = startWorker(workerUrl));
    this.pending = []; // the worker answers in order, one answer per load or frame
    this.worker.addEventListener('message', ({data}) => {
      const request = this.pending.shift();
      if (!request) return;
      if (data.type === 'error') request.reject(new Error(data.message));
      else request.resolve(data);
    });
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      const message = `Could not start the gesture recognition worker from ${workerUrl.href}`
        + (event.message ? ` (${event.message})` : '');
      for (const request of this.pending.splice(0)) request.reject(new Error(message));
    });
  }

  #request(message, transfer = []) {
    return new Promise((resolve, reject) => {
      this.pending.push({resolve, reject});
      this.worker.postMessage(message, transfer);
    });
  }

  /**
   * Load onnxruntime-web and the models.
   * @returns {Promise<{threads: number, settings: object}>} threads actually used; the classifier's settings
   */
  load({ortUrl, palmUrl, landmarksUrl, classifierUrl, threads}) {
    return this.#request({type: 'load', ortUrl: ortUrl.href, palmUrl: palmUrl.href, landmarksUrl: landmarksUrl.href,
      classifierUrl: classifierUrl.href, threads});
  }

  /** The gesture in one frame; the frame is handed over to the worker (and closed there). */
  recognise(frame) {
    return this.#request({type: 'frame', frame}, [frame]);
  }

  /**
   * Pipeline settings over the classifier's (maxHands, minPalmScore, minGestureScore), from the next frame on; an
   * empty object puts the classifier's back.
   */
  configure(pipeline) {
    this.worker.postMessage({type: 'configure', pipeline});
  }

  /** The next frames come from a new camera or after a pause. */
  reset() {
    this.worker.postMessage({type: 'reset'});
  }

  close() {
    this.worker.terminate();
    if (this.shim) URL.revokeObjectURL(this.shim);
    for (const request of this.pending.splice(0)) request.reject(new Error('closed'));
  }
}
