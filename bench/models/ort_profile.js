#!/usr/bin/env node
// Per-node times of ONNX Runtime on one ONNX file written by
// `torch_models.py export`: runs the model with ORT's profiler on and prints,
// for every node in graph order, the median kernel time over the runs, with
// its op type and output shape. Use it next to
// `mobileone benchmark --verbose` to see which layers ORT runs faster.
//
//   node ort_profile.js --model s0_deploy.onnx [--threads 1] [--batch 1] [--size 224] [--iters 100]
//
// The profiler adds its own overhead (most visible with 2 threads): compare
// layers with each other, and whole-model times with ort_models.js.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { size: 224, batch: 1, threads: 1, iters: 100 };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    a[k] = k === 'model' ? argv[i + 1] : Number(argv[i + 1]);
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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-'));
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: path.join(dir, 'ort'),
  });
  const n = a.batch * 3 * a.size * a.size;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.random() * 2 - 1;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [a.batch, 3, a.size, a.size]) };
  for (let i = 0; i < a.iters; i++) await session.run(feeds);
  session.endProfiling();
  const file = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f))[0];
  if (!file) throw new Error('ONNX Runtime wrote no profile');
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(); // name -> {op, shape, durs}, in first-seen (graph) order
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) {
      nodes.set(name, { op: (e.args && e.args.op_name) || '', shape: JSON.stringify((e.args && e.args.output_type_shape) || ''), durs: [] });
    }
    nodes.get(name).durs.push(e.dur);
  }
  let total = 0;
  for (const [name, v] of nodes) {
    const m = median(v.durs);
    total += m;
    console.log(`${m.toFixed(0).padStart(7)} us  ${v.op.padEnd(18)} ${name}  ${v.shape}`);
  }
  console.log(`${total.toFixed(0).padStart(7)} us  total (sum of node medians), ORT ${ort.env.versions.common}, ${a.threads} thread(s), batch ${a.batch}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => { console.error(e); process.exit(1); });
