package dev.shardline.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Options shared by every command that runs a local model. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR",
            description = "Hugging Face checkpoint directory (config.json, tokenizer.json, *.safetensors) or a GGUF file (Q8_0, Q4_K_M, bf16, ...; split -00001-of-0000N.gguf parts too)")
    Path model;

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "NAME",
            description = "compute backend: cpu (Vector API, default), cpu-int8 (quantized models: one-token products "
                    + "with int8 activations on native AVX-512 integer kernels, faster, llama.cpp-like rounding) or "
                    + "reference (the scalar oracle, slow); for "
                    + "benchmarks also cpu-packed-prefill, cpu-first-quant and cpu-byte-quant (the kernels the current ones replaced)")
    String backend;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "compute threads (default: all cores)")
    int threads;

    @Option(names = "--weights", defaultValue = "copy", paramLabel = "copy|mmap",
            description = "copy (default): weights copied into process memory, faster decode; mmap: read in place, zero copy")
    String weights;

    dev.shardline.model.weights.ResidentWeights.Mode weightsMode() {
        return dev.shardline.model.weights.ResidentWeights.Mode.parse(weights);
    }

    int threadsOrDefault() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
