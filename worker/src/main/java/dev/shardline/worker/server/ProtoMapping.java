package dev.shardline.worker.server;

import dev.shardline.model.sampling.SamplingParams;
import dev.shardline.proto.stage.v1.BatchEntry;
import dev.shardline.proto.stage.v1.MicroBatchHeader;
import dev.shardline.proto.stage.v1.SamplerParams;
import dev.shardline.worker.stage.SamplingSetup;
import dev.shardline.worker.stage.StageEntry;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Turns the wire messages of {@code shardline.stage.v1} into the stage executor's inputs. */
final class ProtoMapping {

    private ProtoMapping() {
    }

    /**
     * The header's entries, checked against the model and this stage's KV cache: token ids inside [0, vocab),
     * block ids inside [0, kvBlocks), enough blocks for the entry's positions.
     *
     * @throws IllegalArgumentException naming the step and sequence
     */
    static List<StageEntry> entries(MicroBatchHeader header, int vocab, int kvBlocks, int blockSize) {
        List<StageEntry> out = new ArrayList<>(header.getEntriesCount());
        for (BatchEntry e : header.getEntriesList()) {
            String where = "step " + header.getStepId() + ", sequence " + e.getSequenceId();
            int[] tokens = e.getTokenIdsList().stream().mapToInt(Integer::intValue).toArray();
            int[] table = e.getBlockTableList().stream().mapToInt(Integer::intValue).toArray();
            if (tokens.length == 0 || tokens.length != e.getRows()) {
                throw new IllegalArgumentException(where + ": rows is " + e.getRows() + " but token_ids holds "
                        + tokens.length + " (must be equal and > 0)");
            }
            for (int t : tokens) {
                if (t < 0 || t >= vocab) {
                    throw new IllegalArgumentException(where + ": token id " + t + " is outside the vocabulary [0, "
                            + vocab + ")");
                }
            }
            if (e.getFirstPosition() < 0) {
                throw new IllegalArgumentException(where + ": first_position " + e.getFirstPosition() + " is negative");
            }
            long positions = (long) e.getFirstPosition() + tokens.length;
            if ((long) table.length * blockSize < positions) {
                throw new IllegalArgumentException(where + ": block_table holds " + table.length + " blocks of "
                        + blockSize + " tokens, positions up to " + positions + " need " + ((positions + blockSize - 1) / blockSize));
            }
            for (int b : table) {
                if (b < 0 || b >= kvBlocks) {
                    throw new IllegalArgumentException(where + ": block id " + b + " is outside [0, " + kvBlocks + ")");
                }
            }
            SamplingSetup sampling = e.hasSampling() ? sampling(e.getSampling(), vocab, where) : null;
            out.add(new StageEntry(e.getSequenceId(), tokens, e.getFirstPosition(), table, e.getWantLogits(),
                    sampling, e.getGeneratedCount()));
        }
        return out;
    }

    /**
     * The last stage's sampling setup. Stop conditions and max tokens stay on the coordinator, so the limit here is
     * "none"; top_k <= 0 is off, an unset top_p (0) is off, an unset repetition_penalty (0) is off.
     *
     * @throws dev.shardline.model.sampling.InvalidSamplingException naming the field (top_logprobs, logit_bias, ...)
     * @throws IllegalArgumentException for a forced token id outside the vocabulary
     */
    static SamplingSetup sampling(SamplerParams p, int vocab, String where) {
        SamplingParams params = new SamplingParams(
                p.getTemperature(),
                p.getTopK() <= 0 ? -1 : p.getTopK(),
                p.getTopP() <= 0 ? 1.0 : p.getTopP(),
                p.getMinP(),
                p.getPresencePenalty(),
                p.getFrequencyPenalty(),
                p.getRepetitionPenalty() <= 0 ? 1.0 : p.getRepetitionPenalty(),
                p.getSeed(),
                Integer.MAX_VALUE,
                List.of(),
                Set.of(),
                true,
                p.getTopLogprobs(),
                p.getLogitBiasMap()).validate();
        int[] forced = p.getForcedTokenIdsList().stream().mapToInt(Integer::intValue).toArray();
        for (int t : forced) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException(where + ": forced token id " + t + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
        }
        if (p.getPromptTokens() < 0) {
            throw new IllegalArgumentException(where + ": prompt_tokens " + p.getPromptTokens() + " is negative");
        }
        return new SamplingSetup(params, p.getPromptTokens(), forced);
    }
}
