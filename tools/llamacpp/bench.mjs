// llama.cpp prefill and decode on one GGUF file, timed as ./shardline bench times its own: a random prompt of
// PROMPT token ids in one batch, then GEN greedy tokens; RUNS runs, the first a warm-up. Prints one line per run.
import {getLlama} from "node-llama-cpp";

const [modelPath, promptN = "128", genN = "32", runsN = "4", threadsN = "2"] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node bench.mjs MODEL.gguf [PROMPT_TOKENS] [GEN_TOKENS] [RUNS] [THREADS]");
  process.exit(2);
}
const P = +promptN, G = +genN, threads = +threadsN;
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
console.log(`llama.cpp ${llama.llamaCppRelease.release} (node-llama-cpp prebuilt, CPU), ${threads} threads, `
    + `${P}-token prompt, ${G} tokens`);
let seed = 1;
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let r = 0; r < +runsN; r++) {
  const context = await model.createContext({contextSize: P + G + 64, threads, batchSize: P, sequences: 1});
  const sequence = context.getSequence();
  const tokens = Array.from({length: P}, () => Math.floor(next() * 151000));
  const t0 = performance.now();
  let t1 = 0, n = 0;
  for await (const token of sequence.evaluate(tokens, {temperature: 0})) {
    if (++n === 1) t1 = performance.now();   // the prompt's batch and the first token
    if (n === G + 1) break;
  }
  const t2 = performance.now();
  console.log(`run ${r}${r === 0 ? " (warm-up)" : ""}: prefill ${(P / ((t1 - t0) / 1000)).toFixed(1)} tokens/s, `
      + `decode ${(G / ((t2 - t1) / 1000)).toFixed(2)} tokens/s`);
  await context.dispose();
}
await model.dispose();
