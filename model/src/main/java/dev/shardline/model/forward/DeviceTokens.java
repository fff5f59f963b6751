package dev.shardline.model.forward;

/**
 * Tokens the device chose on the last stage: {@code ids[j]} with log-probability {@code logprobs[j]} for the batch's
 * sequence {@code sequences[j]} (batch order).
 */
public record DeviceTokens(int[] sequences, int[] ids, float[] logprobs) {

    public static final DeviceTokens NONE = new DeviceTokens(new int[0], new int[0], new float[0]);

    public int size() {
        return sequences.length;
    }
}
