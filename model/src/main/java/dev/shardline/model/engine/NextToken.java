package dev.shardline.model.engine;

/** Chooses a sequence's next token from its logits row ({@code [vocab]}); a sampler in practice. */
@FunctionalInterface
public interface NextToken {
    int choose(float[] logits);
}
