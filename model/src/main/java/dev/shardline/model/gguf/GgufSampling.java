package dev.shardline.model.gguf;

import dev.shardline.model.sampling.GenerationDefaults;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Sampling defaults for a GGUF model, first found wins: a {@code generation_config.json} beside the file; the file's
 * {@code general.sampling.*} metadata (llama.cpp's keys: temp, top_k, top_p, min_p, penalty_repeat); QwQ's
 * recommended settings (temperature 0.6, top-p 0.95, top-k 40, QwQ-32B's generation_config.json) when
 * {@code general.name} or {@code general.basename} names QwQ; else the built-in defaults. The result's
 * {@link GenerationDefaults#source()} says which, so QwQ never silently becomes greedy.
 */
public final class GgufSampling {
    static final String QWQ_SOURCE = "QwQ-32B's recommended settings (the GGUF names QwQ and carries no sampling values)";

    private GgufSampling() {
    }

    public static GenerationDefaults defaults(Path generationConfigJson, GgufMetadata md) {
        if (Files.isRegularFile(generationConfigJson)) {
            return GenerationDefaults.read(generationConfigJson);
        }
        List<Integer> eos = md.has("tokenizer.ggml.eos_token_id") ? List.of(md.int32("tokenizer.ggml.eos_token_id"))
                : List.of();
        GenerationDefaults b = GenerationDefaults.builtIn();
        if (md.has("general.sampling.temp") || md.has("general.sampling.top_k") || md.has("general.sampling.top_p")
                || md.has("general.sampling.min_p") || md.has("general.sampling.penalty_repeat")) {
            int topK = md.optInt("general.sampling.top_k", b.topK());
            return new GenerationDefaults(md.optReal("general.sampling.temp", b.temperature()),
                    md.optReal("general.sampling.top_p", b.topP()), topK <= 0 ? -1 : topK,
                    md.optReal("general.sampling.min_p", b.minP()),
                    md.optReal("general.sampling.penalty_repeat", b.repetitionPenalty()), null, eos,
                    md.file() + " metadata general.sampling.*");
        }
        String name = (md.optString("general.name", "") + " " + md.optString("general.basename", ""))
                .toLowerCase(Locale.ROOT);
        if (name.contains("qwq")) {
            return new GenerationDefaults(0.6, 0.95, 40, 0.0, 1.0, null, eos, QWQ_SOURCE);
        }
        return new GenerationDefaults(b.temperature(), b.topP(), b.topK(), b.minP(), b.repetitionPenalty(), null, eos,
                b.source());
    }
}
