// Runs one ONNX model in ONNX Runtime (onnxruntime-node, CPU execution
// provider) for package ort: node run.js ONNXRUNTIME_NODE_DIR < request.json
//
// request: {"model": PATH, "threads": N, "inputs": [{"name", "type": "float32"|"uint8", "dims": [...], "data": BASE64}]}
// response (stdout): {"version": "1.30.0", "outputs": [{"name", "type", "dims", "data": BASE64 of little-endian values}]}
'use strict';
const ort = require(process.argv[2]);

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const session = await ort.InferenceSession.create(req.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: req.threads || 1,
    interOpNumThreads: 1,
  });
  const feeds = {};
  for (const inp of req.inputs) {
    const buf = Buffer.from(inp.data, 'base64');
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    let data;
    if (inp.type === 'float32') data = new Float32Array(ab);
    else if (inp.type === 'uint8') data = new Uint8Array(ab);
    else throw new Error('unsupported input type ' + inp.type);
    feeds[inp.name] = new ort.Tensor(inp.type, data, inp.dims);
  }
  const results = await session.run(feeds);
  const outputs = session.outputNames.map((name) => {
    const t = results[name];
    const d = t.data;
    return { name, type: t.type, dims: t.dims, data: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') };
  });
  process.stdout.write(JSON.stringify({ version: ort.env.versions.common, outputs }));
}

main().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
