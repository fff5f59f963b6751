package dev.shardline.model.kvcache;

/** No free KV block is left: the caller must wait, preempt a sequence, or shorten the request. */
public final class KvCacheFullException extends RuntimeException {
    public KvCacheFullException(String message) {
        super(message);
    }
}
