#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU execution provider) side of the model
// benchmarks (issue #5). Times one ONNX file written by
// `torch_models.py export` and prints one JSON object:
//
//   node ort_models.js --model s0_deploy.onnx --arch s0 --batch 1 --threads 2 [--size 224]
//
// intraOpNumThreads = --threads, interOpNumThreads = 1, sequential
// execution, all graph optimizations: the settings a latency-bound CPU
// deployment uses.
'use strict';
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { size: 224, batch: 1, threads: 1, warmup: 3, iters: 30, budget: 10, arch: '?' };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    const v = argv[i + 1];
    a[k] = ['model', 'arch'].includes(k) ? v : Number(v);
  }
  if (!a.model) throw new Error('--model FILE.onnx is required');
  return a;
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

async function main() {
  const a = parseArgs(process.argv);
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const n = a.batch * 3 * a.size * a.size;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.random() * 2 - 1;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [a.batch, 3, a.size, a.size]) };
  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const times = [];
  const end = performance.now() + a.budget * 1000;
  for (let i = 0; i < a.iters; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
    if (i >= 2 && performance.now() > end) break;
  }
  const med = median(times);
  console.log(JSON.stringify({
    side: 'ort', kind: 'infer', arch: a.arch, batch: a.batch, size: a.size, threads: a.threads,
    median_ms: med, min_ms: Math.min(...times), images_per_s: a.batch / med * 1000, iters: times.length,
    ort: ort.env.versions.common,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
