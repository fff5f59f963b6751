package dev.shardline.cli.gpucheck;

import dev.shardline.model.config.ModelConfig;
import dev.shardline.model.kernels.Activations;
import dev.shardline.model.kernels.AttentionBatch;
import dev.shardline.model.kernels.HostActivations;
import dev.shardline.model.kernels.Kernels;
import dev.shardline.model.kernels.SequenceSlice;
import dev.shardline.model.kvcache.KvLayer;

import java.util.ArrayList;
import java.util.List;

/**
 * storeKv + attention over a paged cache with random block tables, on the backend and on the reference. The cache
 * first receives each sequence's history through storeKv; then a decode-only batch (positions 100 and 9000: the
 * long one needs split-K on a GPU), then a mixed batch in scrambled order: a 256-row prefill chunk continuing 300
 * cached positions, a decode at 100, a fresh 64-row prefill and a decode at 9000. The reference recomputes every
 * decode row and a random subset of the prefill rows (each as a one-row slice at its position: causal attention of
 * a row depends only on its query and the cache up to its position). Finally both caches are compared whole.
 */
final class AttentionCheck {
    private static final int BLOCK_SIZE = 16;
    private static final int BLOCKS = 640;     // 609 used, the rest stay zero and must stay zero

    private final Context c;
    private final ModelConfig config;
    private final int kvDim;
    private final int qDim;

    AttentionCheck(Context c) {
        this.c = c;
        this.config = c.shapes.config();
        this.kvDim = config.kvDim();
        this.qDim = config.numAttentionHeads() * config.headDim();
    }

    void run() {
        KvLayer kvBackend = null;
        try (KvLayer kvRef = KvLayer.allocate(c.reference, BLOCKS, BLOCK_SIZE, kvDim)) {
            kvBackend = KvLayer.allocate(c.backend, BLOCKS, BLOCK_SIZE, kvDim);
            int[] perm = c.random.permutation(BLOCKS);
            int[] a = table(perm, 0, 101);                       // decode at 100
            int[] b = table(perm, a.length, 9001);               // decode at 9000
            int[] cc = table(perm, a.length + b.length, 556);    // chunk of 256 after 300 cached
            int[] d = table(perm, a.length + b.length + cc.length, 64);   // fresh prefill of 64

            // history: positions before each step, written through storeKv on both sides
            store(kvBackend, kvRef, List.of(new SequenceSlice(0, 100, 0, a), new SequenceSlice(100, 9000, 0, b),
                    new SequenceSlice(9100, 300, 0, cc)));

            List<SequenceSlice> decode = List.of(new SequenceSlice(0, 1, 100, a), new SequenceSlice(1, 1, 9000, b));
            compare("attention decode", "2 seqs, pos 100 + 9000", kvBackend, kvRef, decode);

            List<SequenceSlice> mixed = List.of(new SequenceSlice(0, 256, 300, cc), new SequenceSlice(256, 1, 100, a),
                    new SequenceSlice(257, 64, 0, d), new SequenceSlice(321, 1, 9000, b));
            compare("attention mixed", "256@300, 1@100, 64@0, 1@9000", kvBackend, kvRef, mixed);

            float[] got = new float[BLOCKS * BLOCK_SIZE * kvDim];
            c.backend.read(kvBackend.keys(), 0, got, 0, got.length);
            double ek = ErrorMetric.of(got, HostActivations.of(kvRef.keys()));
            c.backend.read(kvBackend.values(), 0, got, 0, got.length);
            double ev = ErrorMetric.of(got, HostActivations.of(kvRef.values()));
            c.result("storeKv", "cache [" + BLOCKS + "," + BLOCK_SIZE + "," + kvDim + "] x2",
                    "whole cache", Math.max(ek, ev), OpChecks.EXACT);
        } catch (Throwable e) {
            c.report.error("storeKv/attention", e);
        } finally {
            if (kvBackend != null) kvBackend.close();
        }
    }

    /** The next blocks of the permutation, enough for {@code positions} positions. */
    private static int[] table(int[] perm, int from, int positions) {
        int n = (positions + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int[] t = new int[n];
        System.arraycopy(perm, from, t, 0, n);
        return t;
    }

    private AttentionBatch batch(List<SequenceSlice> seqs) {
        return new AttentionBatch(seqs, config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(),
                (float) (1.0 / Math.sqrt(config.headDim())));
    }

    /** Random keys and values for the batch's rows, stored on both sides. */
    private void store(KvLayer kvBackend, KvLayer kvRef, List<SequenceSlice> seqs) {
        AttentionBatch batch = batch(seqs);
        int rows = batch.totalRows();
        float[] k = c.random.floats(rows * kvDim, 1.0);
        float[] v = c.random.floats(rows * kvDim, 1.0);
        try (Activations ka = c.backend.allocate((long) rows * kvDim); Activations va = c.backend.allocate((long) rows * kvDim)) {
            c.backend.write(k, 0, ka, 0, k.length);
            c.backend.write(v, 0, va, 0, v.length);
            c.backend.storeKv(ka, va, batch, kvBackend);
        }
        c.reference.storeKv(k, v, batch, kvRef);
    }

    /** One step: store the rows' keys and values, attend, compare the reference's subset of rows. */
    private void compare(String op, String shape, KvLayer kvBackend, KvLayer kvRef, List<SequenceSlice> seqs) {
        try {
            store(kvBackend, kvRef, seqs);
            AttentionBatch batch = batch(seqs);
            int rows = batch.totalRows();
            float[] q = c.random.floats(rows * qDim, 2.0);
            float[] got = new float[rows * qDim];
            Kernels be = c.backend;
            try (Activations qa = be.allocate((long) rows * qDim); Activations out = be.allocate((long) rows * qDim)) {
                be.write(q, 0, qa, 0, q.length);
                be.attention(qa, out, batch, kvBackend);
                be.read(out, 0, got, 0, got.length);
            }
            // the reference: each chosen row as a one-row slice at its own position
            List<SequenceSlice> refSlices = new ArrayList<>();
            List<Integer> refRows = new ArrayList<>();
            for (SequenceSlice s : seqs) {
                for (int i : c.random.pick(s.rows(), s.rows() > 64 ? 24 : 16)) {
                    refSlices.add(new SequenceSlice(refSlices.size(), 1, s.firstPosition() + i, s.blockTable()));
                    refRows.add(s.rowStart() + i);
                }
            }
            float[] qRef = new float[refRows.size() * qDim];
            for (int j = 0; j < refRows.size(); j++) System.arraycopy(q, refRows.get(j) * qDim, qRef, j * qDim, qDim);
            float[] ref = new float[qRef.length];
            c.reference.attention(qRef, ref, batch(refSlices), kvRef);
            ErrorMetric e = new ErrorMetric();
            for (int j = 0; j < refRows.size(); j++) {
                for (int i = 0; i < qDim; i++) e.add(got[refRows.get(j) * qDim + i], ref[j * qDim + i]);
            }
            c.result(op, shape + ", " + config.numAttentionHeads() + "/" + config.numKeyValueHeads()
                    + " heads", refRows.size() + " of " + rows + " rows", e.value(), OpChecks.DECODE);
        } catch (Throwable e) {
            c.report.error(op, e);
        }
    }
}
