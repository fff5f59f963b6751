package dev.shardline.coordinator.desired;

import dev.shardline.coordinator.plan.PlanOptions;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kvcache.KvCache;

import java.util.Collection;

/**
 * What the shard planner needs besides the workers: the model, its bytes per weight and the planner's options.
 * The options' KV bytes per token and layer (0 = derived from the model) are those of an f32 cache; {@link
 * #forWorkers} scales them to the cache the planned workers really allocate.
 */
public record PlanInputs(ModelConfig model, int bytesPerWeight, PlanOptions options) {

    /**
     * These inputs with KV sized at the largest element size among {@code workers} (every stage of a pipeline holds
     * the same KV blocks, so the widest cache decides; a pool of only bf16 caches is sized at half of f32).
     */
    public PlanInputs forWorkers(Collection<WorkerView> workers) {
        int widest = 0;
        for (WorkerView w : workers) widest = Math.max(widest, w.kvBytesPerElement());
        if (widest == 0 || widest == Float.BYTES) return this;
        long f32 = options.kvBytesPerTokenPerLayer() > 0 ? options.kvBytesPerTokenPerLayer()
                : KvCache.bytesPerTokenPerLayer(model);
        return new PlanInputs(model, bytesPerWeight, options.withKvBytesPerTokenPerLayer(f32 / Float.BYTES * widest));
    }
}
