package dev.shardline.model.kernels;

import dev.shardline.model.kvcache.KvLayer;
import dev.shardline.model.tensor.WeightTensor;

/**
 * The oracle: every operation written the plain way, one thread, double accumulation, no tricks.
 * It is never optimised; every fast backend is tested against it.
 */
public final class ReferenceKernels extends HostKernels {

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void embed(WeightTensor table, int[] ids, float[] out) {
        int hidden = table.cols();
        for (int t = 0; t < ids.length; t++) {
            for (int i = 0; i < hidden; i++) {
                out[t * hidden + i] = table.get((long) ids[t] * hidden + i);
            }
        }
    }

    @Override
    public void rmsNorm(float[] x, WeightTensor weight, float eps, int tokens, float[] out) {
        int dim = weight.rows();
        for (int t = 0; t < tokens; t++) {
            double sumSquares = 0;
            for (int i = 0; i < dim; i++) {
                double v = x[t * dim + i];
                sumSquares += v * v;
            }
            double inv = 1.0 / Math.sqrt(sumSquares / dim + eps);
            for (int i = 0; i < dim; i++) {
                out[t * dim + i] = (float) (x[t * dim + i] * inv * weight.get(i));
            }
        }
    }

    @Override
    public void matmul(float[] x, int tokens, WeightTensor w, WeightTensor bias, float[] out) {
        int n = w.rows();
        int k = w.cols();
        for (int t = 0; t < tokens; t++) {
            for (int row = 0; row < n; row++) {
                double sum = bias == null ? 0 : bias.get(row);
                for (int i = 0; i < k; i++) {
                    sum += (double) x[t * k + i] * w.get((long) row * k + i);
                }
                out[t * n + row] = (float) sum;
            }
        }
    }

    @Override
    public void rope(float[] x, int tokens, int heads, int headDim, float[] cos, float[] sin) {
        int half = headDim / 2;
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * headDim;
                for (int d = 0; d < half; d++) {
                    double c = cos[t * half + d];
                    double s = sin[t * half + d];
                    double a = x[base + d];
                    double b = x[base + d + half];
                    x[base + d] = (float) (a * c - b * s);
                    x[base + d + half] = (float) (b * c + a * s);
                }
            }
        }
    }

    @Override
    public void storeKv(float[] k, float[] v, AttentionBatch batch, KvLayer kv) {
        int kvDim = kv.kvDim();
        for (SequenceSlice seq : batch.sequences()) {
            for (int i = 0; i < seq.rows(); i++) {
                int row = seq.rowStart() + i;
                int slot = kv.offset(seq.blockTable(), seq.firstPosition() + i);
                for (int j = 0; j < kvDim; j++) {
                    keys(kv)[slot + j] = k[row * kvDim + j];
                    values(kv)[slot + j] = v[row * kvDim + j];
                }
            }
        }
    }

    @Override
    public void attention(float[] q, float[] out, AttentionBatch batch, KvLayer kv) {
        int headDim = batch.headDim();
        int qDim = batch.qHeads() * headDim;
        int kvDim = kv.kvDim();
        for (SequenceSlice seq : batch.sequences()) {
            for (int i = 0; i < seq.rows(); i++) {
                int row = seq.rowStart() + i;
                int position = seq.firstPosition() + i;
                for (int h = 0; h < batch.qHeads(); h++) {
                    int kvHead = h / batch.groupSize();
                    double[] scores = new double[position + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int p = 0; p <= position; p++) {
                        int slot = kv.offset(seq.blockTable(), p) + kvHead * headDim;
                        double dot = 0;
                        for (int d = 0; d < headDim; d++) {
                            dot += (double) q[row * qDim + h * headDim + d] * keys(kv)[slot + d];
                        }
                        scores[p] = dot * batch.scale();
                        max = Math.max(max, scores[p]);
                    }
                    double sum = 0;
                    for (int p = 0; p <= position; p++) {
                        scores[p] = Math.exp(scores[p] - max);
                        sum += scores[p];
                    }
                    for (int d = 0; d < headDim; d++) {
                        double acc = 0;
                        for (int p = 0; p <= position; p++) {
                            int slot = kv.offset(seq.blockTable(), p) + kvHead * headDim;
                            acc += scores[p] / sum * values(kv)[slot + d];
                        }
                        out[row * qDim + h * headDim + d] = (float) acc;
                    }
                }
            }
        }
        if (kvDim != batch.kvHeads() * headDim) {
            throw new IllegalArgumentException("KV layer width " + kvDim + " != kvHeads x headDim "
                    + batch.kvHeads() + " x " + headDim);
        }
    }

    @Override
    public void swiglu(float[] gate, float[] up, int n, float[] out) {
        for (int i = 0; i < n; i++) {
            double g = gate[i];
            out[i] = (float) (g / (1.0 + Math.exp(-g)) * up[i]);
        }
    }

    @Override
    public void add(float[] acc, float[] x, int n) {
        for (int i = 0; i < n; i++) {
            acc[i] += x[i];
        }
    }
}
