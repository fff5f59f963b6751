package dev.shardline.worker.server;

import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.SamplerParams;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A scheduler in miniature, deterministic: sequences of different prompt lengths in two groups that alternate
 * (so two micro-batches are in flight at once), chunked prefill, then greedy decode feeding back each sampled
 * token, until every sequence has {@code newTokens}. Block tables are fixed per sequence. Any "runner" that
 * returns the sampled tokens for a round of micro-batches can drive it, so the pipeline and a single process see
 * exactly the same micro-batches.
 */
final class GreedyWorkload {
    static final int BLOCK_SIZE = 4;
    static final int BLOCKS_PER_SEQUENCE = 6;

    /** Runs one round: the micro-batches in order; returns sequence id -> sampled token of all of them. */
    interface Runner {
        Map<Long, Integer> run(List<MicroBatchHeader> round) throws Exception;
    }

    static final class Seq {
        final long id;
        final int[] prompt;
        final int[] blocks;
        int prefilled;
        final List<Integer> generated = new ArrayList<>();
        boolean sentParams;
        boolean reportedFinished;

        Seq(long id, int[] prompt, int[] blocks) {
            this.id = id;
            this.prompt = prompt;
            this.blocks = blocks;
        }
    }

    final int pipelineId;
    final long epoch;
    final int chunk;
    final int newTokens;
    final List<List<Seq>> groups = new ArrayList<>();
    final List<Seq> all = new ArrayList<>();
    private final List<List<Long>> finishedPending = new ArrayList<>();
    private long nextStep = 1;

    /** Prompts of the given lengths, token ids in [2, 500). */
    static List<int[]> prompts(long seed, int... lengths) {
        SplittableRandom random = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int n : lengths) out.add(random.ints(n, 2, 500).toArray());
        return out;
    }

    GreedyWorkload(int pipelineId, long epoch, List<int[]> prompts, int chunk, int newTokens) {
        this.pipelineId = pipelineId;
        this.epoch = epoch;
        this.chunk = chunk;
        this.newTokens = newTokens;
        groups.add(new ArrayList<>());
        groups.add(new ArrayList<>());
        finishedPending.add(new ArrayList<>());
        finishedPending.add(new ArrayList<>());
        for (int i = 0; i < prompts.size(); i++) {
            int[] prompt = prompts.get(i);
            int[] blocks = new int[BLOCKS_PER_SEQUENCE];
            for (int b = 0; b < blocks.length; b++) {
                blocks[b] = i * BLOCKS_PER_SEQUENCE + (BLOCKS_PER_SEQUENCE - 1 - b); // reversed: any order works
            }
            Seq s = new Seq(100 + i, prompt, blocks);
            all.add(s);
            groups.get(i % 2).add(s);
        }
    }

    static int kvBlocks(int sequences) {
        return sequences * BLOCKS_PER_SEQUENCE;
    }

    /** Runs rounds until done; returns sequence id -> generated tokens. */
    Map<Long, List<Integer>> run(Runner runner) throws Exception {
        while (true) {
            List<MicroBatchHeader> round = new ArrayList<>();
            for (int g = 0; g < groups.size(); g++) {
                MicroBatchHeader h = next(g);
                if (h != null) round.add(h);
            }
            if (round.isEmpty()) break;
            Map<Long, Integer> sampled = runner.run(round);
            for (Seq s : all) {
                Integer t = sampled.get(s.id);
                if (t != null) s.generated.add(t);
            }
        }
        Map<Long, List<Integer>> out = new LinkedHashMap<>();
        for (Seq s : all) out.put(s.id, s.generated);
        return out;
    }

    private MicroBatchHeader next(int g) {
        MicroBatchHeader.Builder h = MicroBatchHeader.newBuilder().setPipelineId(pipelineId).setPlanEpoch(epoch);
        for (Seq s : groups.get(g)) {
            if (s.generated.size() >= newTokens) {
                if (!s.reportedFinished) {
                    finishedPending.get(g).add(s.id); // the stages forget it with the group's next micro-batch
                    s.reportedFinished = true;
                }
                continue;
            }
            BatchEntry.Builder e = BatchEntry.newBuilder().setSequenceId(s.id).setGeneratedCount(s.generated.size());
            if (s.prefilled < s.prompt.length) {
                int n = Math.min(chunk, s.prompt.length - s.prefilled);
                for (int i = 0; i < n; i++) e.addTokenIds(s.prompt[s.prefilled + i]);
                e.setFirstPosition(s.prefilled).setRows(n).setWantLogits(s.prefilled + n == s.prompt.length);
                s.prefilled += n;
            } else {
                int last = s.generated.getLast();
                e.addTokenIds(last).setFirstPosition(s.prompt.length + s.generated.size() - 1).setRows(1)
                        .setWantLogits(true);
            }
            int positions = e.getFirstPosition() + e.getRows();
            for (int b = 0; b < (positions + BLOCK_SIZE - 1) / BLOCK_SIZE; b++) e.addBlockTable(s.blocks[b]);
            if (!s.sentParams) {
                e.setSampling(SamplerParams.newBuilder().setTemperature(0).setTopP(1).setRepetitionPenalty(1)
                        .setSeed(42).setPromptTokens(s.prompt.length));
                s.sentParams = true;
            }
            h.addEntries(e);
        }
        if (h.getEntriesCount() == 0) {
            return null;
        }
        h.addAllFinishedSequenceIds(finishedPending.get(g));
        finishedPending.get(g).clear();
        return h.setStepId(nextStep++).build();
    }
}
