package dev.shardline.worker.server;

import dev.shardline.model.checkpoint.ModelFingerprint;

import dev.shardline.model.source.ModelSource;
import dev.shardline.model.source.ModelSources;
import dev.shardline.model.source.WeightSizes;
import dev.shardline.model.checkpoint.Qwen2Tensors;
import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kvcache.KvCache;
import dev.shardline.model.weights.LayerRange;
import dev.shardline.proto.stage.v1.ActivationDtype;
import dev.shardline.proto.stage.v1.LayerAssignment;
import dev.shardline.proto.stage.v1.codec.ActivationCodec;
import dev.shardline.worker.config.WorkerConfig;
import io.grpc.Status;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A {@link LayerAssignment} checked against this worker and its model, with its defaults resolved: everything an
 * Assign needs before it maps a single byte. {@link #check} fails with the status the contract names
 * (INVALID_ARGUMENT naming the field, NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED).
 *
 * @param fingerprint the model's fingerprint ({@link ModelFingerprint}), equal to the assignment's when it names one
 * @param weightBytes bytes of the tensors the range maps (from the checkpoint headers)
 * @param kvBytes     bytes of the KV cache it allocates
 */
record AssignmentPlan(LayerAssignment assignment, Path dir, String fingerprint, ModelConfig config, LayerRange range,
                      ActivationDtype dtype, int maxMessageBytes, int vocabLimit, String coordinatorAddress,
                      long weightBytes, long kvBytes) {

    /** The largest max_message_bytes a worker accepts; its server and channels take this plus 1 MiB. */
    static final int MAX_MESSAGE_BYTES_LIMIT = 64 << 20;
    /** Inbound limit of the worker's server and channels. */
    static final int INBOUND_LIMIT = MAX_MESSAGE_BYTES_LIMIT + (1 << 20);
    /** The literal next_stage_address of the last stage. */
    static final String COORDINATOR = "coordinator";

    static AssignmentPlan check(LayerAssignment a, WorkerConfig cfg, String ownFingerprint) throws AssignException {
        Path dir = switch (a.getModelCase()) {
            case MODEL_DIR -> Path.of(a.getModelDir());
            case MODEL_ID, MODEL_NOT_SET -> cfg.model();  // this worker's own store holds one model: its --model
        };
        if (!Files.exists(dir)) {
            throw new AssignException(Status.Code.NOT_FOUND, "LayerAssignment.model_dir " + dir
                    + " does not exist on this worker (a checkpoint directory or a .gguf file)");
        }
        ModelConfig config;
        String fingerprint;
        WeightSizes sizes;
        try {
            ModelSource source = ModelSources.open(dir);
            config = source.config();
            sizes = source.weightSizes();
            fingerprint = sameDir(dir, cfg.model()) ? ownFingerprint : ModelFingerprint.of(dir);
        } catch (RuntimeException e) {
            throw new AssignException(Status.Code.NOT_FOUND, "model at " + dir + " cannot be read: " + e.getMessage(), e);
        }
        if (!a.getModelFingerprint().isEmpty() && !a.getModelFingerprint().equals(fingerprint)) {
            throw new AssignException(Status.Code.FAILED_PRECONDITION, "LayerAssignment.model_fingerprint "
                    + ModelFingerprint.shortForm(a.getModelFingerprint()) + "... differs from this worker's "
                    + ModelFingerprint.shortForm(fingerprint) + "... (model at " + dir + ")");
        }
        int layers = config.numHiddenLayers();
        if (a.getStageCount() < 1 || a.getStageIndex() < 0 || a.getStageIndex() >= a.getStageCount()) {
            throw AssignException.invalid("stage_index", a.getStageIndex() + " must be in [0, stage_count "
                    + a.getStageCount() + ")");
        }
        if (a.getLayerStart() < 0 || a.getLayerStart() >= layers) {
            throw AssignException.invalid("layer_start", a.getLayerStart() + " must be in [0, " + layers + ")");
        }
        if (a.getLayerEnd() > layers) {
            throw AssignException.invalid("layer_end", a.getLayerEnd() + " is beyond the model's " + layers + " layers");
        }
        if (a.getLayerEnd() <= a.getLayerStart()) {
            throw AssignException.invalid("layer_end", a.getLayerEnd() + " must be > layer_start " + a.getLayerStart());
        }
        if (a.getKvBlocks() <= 0) {
            throw AssignException.invalid("kv_blocks", "must be > 0, got " + a.getKvBlocks());
        }
        if (a.getBlockSize() <= 0) {
            throw AssignException.invalid("block_size", "must be > 0, got " + a.getBlockSize());
        }
        ActivationDtype dtype = switch (a.getActivationDtype()) {
            case ACTIVATION_DTYPE_UNSPECIFIED, ACTIVATION_DTYPE_BF16 -> ActivationDtype.ACTIVATION_DTYPE_BF16;
            case ACTIVATION_DTYPE_F32 -> ActivationDtype.ACTIVATION_DTYPE_F32;
            default -> throw AssignException.invalid("activation_dtype", "must be BF16 or F32, got "
                    + a.getActivationDtypeValue());
        };
        int maxMessage = a.getMaxMessageBytes() == 0 ? ActivationCodec.DEFAULT_MAX_MESSAGE_BYTES : a.getMaxMessageBytes();
        if (maxMessage < ActivationCodec.MIN_MAX_MESSAGE_BYTES || maxMessage > MAX_MESSAGE_BYTES_LIMIT) {
            throw AssignException.invalid("max_message_bytes", "must be in [" + ActivationCodec.MIN_MAX_MESSAGE_BYTES
                    + ", " + MAX_MESSAGE_BYTES_LIMIT + "] (0 = default), got " + a.getMaxMessageBytes());
        }
        String coordinator = a.getCoordinatorAddress().isEmpty() ? cfg.coordinator() : a.getCoordinatorAddress();
        if (a.getHasHead()) {
            if (!COORDINATOR.equals(a.getNextStageAddress())) {
                throw AssignException.invalid("next_stage_address", "must be \"coordinator\" on the last stage "
                        + "(has_head), got \"" + a.getNextStageAddress() + "\"");
            }
            if (!isHostPort(coordinator)) {
                throw AssignException.invalid("coordinator_address", "must be host:port, got \"" + coordinator + "\"");
            }
        } else if (!isHostPort(a.getNextStageAddress())) {
            throw AssignException.invalid("next_stage_address", "must be host:port of the next stage (or "
                    + "\"coordinator\" with has_head), got \"" + a.getNextStageAddress() + "\"");
        }
        int vocab = config.vocabSize();
        if (a.getSampleVocabLimit() < 0 || a.getSampleVocabLimit() > vocab) {
            throw AssignException.invalid("sample_vocab_limit", "must be in [0, " + vocab + "] (0 = vocab_size), got "
                    + a.getSampleVocabLimit());
        }
        LayerRange range = new LayerRange(a.getLayerStart(), a.getLayerEnd(), a.getHasEmbedding(), a.getHasHead());
        long weightBytes = weightBytes(sizes, range);
        long kvBytes = (long) a.getKvBlocks() * a.getBlockSize() * range.count() * kvBytesPerTokenPerLayer(config, cfg);
        if (weightBytes + kvBytes > cfg.memoryBudgetBytes()) {
            throw new AssignException(Status.Code.RESOURCE_EXHAUSTED, "the assignment needs " + Bytes.format(weightBytes)
                    + " of weights + " + Bytes.format(kvBytes) + " of KV cache (kv_blocks " + a.getKvBlocks()
                    + " x block_size " + a.getBlockSize() + "), this worker's memory budget is "
                    + Bytes.format(cfg.memoryBudgetBytes()));
        }
        int limit = a.getSampleVocabLimit() > 0 ? a.getSampleVocabLimit() : vocab;
        return new AssignmentPlan(a, dir, fingerprint, config, range, dtype, maxMessage, limit, coordinator, weightBytes,
                kvBytes);
    }

    /**
     * Bytes one token takes in one layer of this worker's KV cache: f32 keys and values, or half that for backend
     * cuda with its bf16 cache ({@code cuda-kv-dtype}).
     */
    static long kvBytesPerTokenPerLayer(ModelConfig config, WorkerConfig cfg) {
        return KvCache.bytesPerTokenPerLayer(config) / Float.BYTES * cfg.kvElementBytes();
    }

    /** Bytes of the tensors of the range as stored (from the headers; a tied lm_head is the embedding, once). */
    static long weightBytes(WeightSizes s, LayerRange range) {
        long total = s.layers(range.start(), range.end());
        if (range.embedding()) total += s.embedding();
        if (range.head()) total += s.finalNorm() + (s.tied() && range.embedding() ? 0 : s.lmHead());
        return total;
    }

    static boolean isHostPort(String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            return false;
        }
        try {
            int port = Integer.parseInt(address.substring(colon + 1));
            return port > 0 && port <= 65535;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static boolean sameDir(Path a, Path b) {
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    boolean last() {
        return range.head();
    }

    long kvCapacityTokens() {
        return (long) assignment.getKvBlocks() * assignment.getBlockSize();
    }
}
