package dev.shardline.model.engine;

/** Why a sequence ended: an EOS id or stop condition, the token limit, or its listener asked to stop. */
public enum FinishReason {
    STOP, LENGTH, CANCELLED
}
