// Run in a cross-origin isolated page by benchmarks/model_times.py: each model of `models` ([file, input side,
// batch]) in onnxruntime-web's wasm backend with the widget's session options, after a warm-up; the median of the
// timed runs, in ms, per file.
async ({ortUrl, modelsUrl, models, threads, runs}) => {
  const ort = await import(`${ortUrl}ort.wasm.min.mjs`);
  ort.env.wasm.wasmPaths = ortUrl;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const medians = {};
  for (const [file, side, batch] of models) {
    const bytes = new Uint8Array(await (await fetch(`${modelsUrl}${file}`)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, {executionProviders: ['wasm'],
      graphOptimizationLevel: 'all'});
    const shape = [batch, 3, side, side];
    const feeds = {[session.inputNames[0]]: new ort.Tensor('float32',
      Float32Array.from({length: batch * 3 * side * side}, (_, i) => (i % 251) / 251), shape)};
    for (let i = 0; i < 5; i++) await session.run(feeds);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      await session.run(feeds);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    medians[file] = times[Math.floor(runs / 2)];
    await session.release();
  }
  return {medians, threads: ort.env.wasm.numThreads, isolated: crossOriginIsolated};
}
