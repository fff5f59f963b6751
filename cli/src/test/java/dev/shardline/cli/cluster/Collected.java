package dev.shardline.cli.cluster;

import dev.shardline.coordinator.generation.Completion;
import dev.shardline.coordinator.generation.GenerationDelta;
import dev.shardline.coordinator.generation.GenerationException;
import dev.shardline.coordinator.generation.GenerationHandle;
import dev.shardline.coordinator.generation.GenerationRequest;
import dev.shardline.coordinator.generation.GenerationService;
import dev.shardline.coordinator.generation.TokenLogprob;
import dev.shardline.coordinator.generation.TokenSink;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One request submitted straight to a coordinator's generation service (in this JVM), its output collected: token
 * ids, for each token the gap between the two most likely log-probs, when each token arrived, and the end.
 */
final class Collected implements TokenSink {
    final List<Integer> tokens = Collections.synchronizedList(new ArrayList<>());
    final List<Double> top2Gaps = Collections.synchronizedList(new ArrayList<>());
    final List<Long> arrivals = Collections.synchronizedList(new ArrayList<>());
    final CompletableFuture<Completion> done = new CompletableFuture<>();
    GenerationHandle handle;

    static Collected submit(GenerationService service, GenerationRequest request) {
        Collected c = new Collected();
        c.handle = service.submit(request, c);
        return c;
    }

    @Override
    public void onDelta(GenerationDelta d) {
        long now = System.nanoTime();
        for (int i = 0; i < d.tokenIds().size(); i++) {
            tokens.add(d.tokenIds().get(i));
            arrivals.add(now);
            if (i < d.topLogprobs().size() && d.topLogprobs().get(i).size() >= 2) {
                List<TokenLogprob> top = d.topLogprobs().get(i);
                top2Gaps.add((double) (top.get(0).logprob() - top.get(1).logprob()));
            }
        }
    }

    @Override
    public void onComplete(Completion completion) {
        done.complete(completion);
    }

    @Override
    public void onError(GenerationException error) {
        done.completeExceptionally(error);
    }

    int size() {
        return tokens.size();
    }
}
