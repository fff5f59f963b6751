package dev.shardline.model.engine;

import dev.shardline.model.forward.ForwardResult;
import dev.shardline.model.forward.Qwen2Forward;
import dev.shardline.model.forward.SequenceStep;
import dev.shardline.model.kvcache.BlockAllocator;
import dev.shardline.model.kvcache.KvCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The single-process engine: continuous batching of many sequences over one {@link Qwen2Forward} that holds the
 * whole model. Each step takes every decoding sequence's next token and fills the rest of the token budget with
 * prefill chunks, in arrival order. One sequence is a batch of one. Not thread-safe: one caller drives it.
 */
public final class Engine implements AutoCloseable {
    private final Qwen2Forward forward;
    private final EngineOptions options;
    private final KvCache cache;
    private final BlockAllocator allocator;
    private final Map<Integer, Sequence> active = new LinkedHashMap<>();
    private final Map<Integer, GenerationResult> done = new LinkedHashMap<>();
    private int nextId;

    public Engine(Qwen2Forward forward, EngineOptions options) {
        if (!forward.weights().range().embedding() || !forward.weights().range().head()) {
            throw new IllegalArgumentException("the single-process engine needs the whole model, got "
                    + forward.weights().range());
        }
        this.forward = forward;
        this.options = options;
        this.cache = KvCache.allocate(forward.kernels(), forward.config(), forward.weights().range(), options.kvBlocks(),
                options.blockSize());
        this.allocator = new BlockAllocator(options.kvBlocks());
    }

    /** Generates for one prompt until a stop id, {@code maxNewTokens}, or the listener says stop. */
    public GenerationResult generate(int[] prompt, int maxNewTokens, Set<Integer> stopTokenIds,
                                     NextToken chooser, TokenListener listener) {
        int id = submit(prompt, maxNewTokens, stopTokenIds, chooser, listener);
        runUntilDone();
        return result(id);
    }

    /** Queues a request; it runs on the next {@link #step()}s. */
    public int submit(int[] prompt, int maxNewTokens, Set<Integer> stopTokenIds, NextToken chooser, TokenListener listener) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: at least one token is needed");
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, got " + maxNewTokens);
        }
        int context = forward.config().maxPositionEmbeddings();
        if (prompt.length + maxNewTokens > context) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens + max tokens " + maxNewTokens
                    + " exceeds the model's context of " + context + " tokens");
        }
        int capacity = cache.numBlocks() * cache.blockSize();
        if (prompt.length + maxNewTokens > capacity) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens + max tokens " + maxNewTokens
                    + " exceeds the KV cache capacity of " + capacity + " tokens");
        }
        for (int t : prompt) {
            if (t < 0 || t >= forward.config().vocabSize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, "
                        + forward.config().vocabSize() + ")");
            }
        }
        int id = nextId++;
        active.put(id, new Sequence(id, prompt, maxNewTokens, stopTokenIds, chooser, listener));
        return id;
    }

    public boolean hasWork() {
        return !active.isEmpty();
    }

    public void runUntilDone() {
        while (hasWork()) {
            step();
        }
    }

    public GenerationResult result(int id) {
        GenerationResult r = done.get(id);
        if (r == null) {
            throw new IllegalStateException("sequence " + id + " has not finished");
        }
        return r;
    }

    /** Blocks in use right now (0 once every sequence has finished). */
    public int usedBlocks() {
        return allocator.usedBlocks();
    }

    /** One forward step over a batch built from the active sequences. */
    public void step() {
        List<Sequence> batch = new ArrayList<>();
        List<SequenceStep> steps = new ArrayList<>();
        int budget = options.maxBatchTokens();
        for (Sequence s : active.values()) {                       // decode tokens first: they keep latency low
            if (!s.inPrefill() && budget > 0) {
                steps.add(plan(s, 1));
                batch.add(s);
                budget--;
            }
        }
        for (Sequence s : active.values()) {                       // then prefill chunks, first come first served
            if (s.inPrefill() && budget > 0) {
                int rows = Math.min(budget, s.length - s.computed);
                steps.add(plan(s, rows));
                batch.add(s);
                budget -= rows;
            }
        }
        ForwardResult result = forward.forward(steps, null, cache);
        int logitRow = 0;
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            s.computed += steps.get(i).rows();
            if (steps.get(i).wantLogits()) {
                accept(s, s.chooser.choose(result.logitsRow(logitRow++)));
            }
        }
    }

    private SequenceStep plan(Sequence s, int rows) {
        int end = s.computed + rows;
        while (s.blocks * cache.blockSize() < end) {
            if (s.blocks == s.blockTable.length) {
                s.blockTable = Arrays.copyOf(s.blockTable, s.blockTable.length * 2);
            }
            s.blockTable[s.blocks++] = allocator.allocate();
        }
        int[] tokens = Arrays.copyOfRange(s.tokens, s.computed, end);
        return SequenceStep.ofTokens(tokens, s.computed, s.blockTable, end == s.length);
    }

    private void accept(Sequence s, int token) {
        long now = System.nanoTime();
        if (s.generated() == 0) {
            s.firstTokenNanos = now;
        }
        s.append(token);
        boolean keepGoing = s.listener.onToken(token);
        if (s.stopTokenIds.contains(token)) {
            finish(s, FinishReason.STOP);
        } else if (!keepGoing) {
            finish(s, FinishReason.CANCELLED);
        } else if (s.generated() >= s.maxNewTokens) {
            finish(s, FinishReason.LENGTH);
        }
    }

    private void finish(Sequence s, FinishReason reason) {
        s.finished = reason;
        s.endNanos = System.nanoTime();
        allocator.free(s.blockTable, s.blocks);
        s.blocks = 0;
        active.remove(s.id);
        done.put(s.id, s.result());
    }

    /** Frees the KV cache (device memory on a GPU backend); the forward pass and its kernels belong to the caller. */
    @Override
    public void close() {
        cache.close();
    }
}
