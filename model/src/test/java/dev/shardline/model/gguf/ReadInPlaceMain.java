package dev.shardline.model.gguf;

import dev.shardline.model.engine.Engine;
import dev.shardline.model.engine.EngineOptions;
import dev.shardline.model.engine.LocalModel;
import dev.shardline.model.engine.TokenListener;
import dev.shardline.model.weights.ResidentWeights;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/** Child process of {@link ReadInPlaceTest}: opens the GGUF memory-mapped on a CPU backend (args[1], default cpu) and decodes 4 tokens. */
public final class ReadInPlaceMain {
    public static void main(String[] args) {
        try (LocalModel m = LocalModel.open(Path.of(args[0]), args.length > 1 ? args[1] : "cpu", 2, ResidentWeights.Mode.MMAP, null);
             Engine e = new Engine(m.forward(), new EngineOptions(4, 16, 16))) {
            int[] tokens = e.generate(new int[]{1, 2, 3, 4, 5}, 4, Set.of(), logits -> {
                int best = 0;
                for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
                return best;
            }, TokenListener.NONE).tokens();
            System.out.println("tokens " + Arrays.toString(tokens) + " weight bytes "
                    + m.forward().weights().bytesPerDecodedToken() + " max heap " + Runtime.getRuntime().maxMemory());
        }
    }
}
