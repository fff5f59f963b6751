package dev.shardline.model.sampling;

/** A sampling parameter outside its allowed range; {@link #field()} is the API name (e.g. "top_p"). */
public final class InvalidSamplingException extends RuntimeException {
    private final String field;

    public InvalidSamplingException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The offending parameter, in the OpenAI/vLLM spelling ("temperature", "top_k", "max_tokens", ...). */
    public String field() {
        return field;
    }
}
