package dev.shardline.model.weights;

/**
 * The layers a process runs: [start, end) of the model's decoder layers, plus whether it holds the embedding
 * (the first stage) and the final norm + lm_head (the last stage). A single process runs the whole model.
 */
public record LayerRange(int start, int end, boolean embedding, boolean head) {

    public LayerRange {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad layer range [" + start + ", " + end + ")");
        }
    }

    public static LayerRange whole(int numLayers) {
        return new LayerRange(0, numLayers, true, true);
    }

    public int count() {
        return end - start;
    }

    public boolean contains(int layer) {
        return layer >= start && layer < end;
    }

    @Override
    public String toString() {
        return "layers [" + start + ", " + end + ")" + (embedding ? " +embedding" : "") + (head ? " +norm+lm_head" : "");
    }
}
