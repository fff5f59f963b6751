package dev.shardline.worker.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The pinned staging buffers and the process's stream: uploads queued back to back through one buffer (the second
 * write must wait for the first copy, else the first destination gets the second's bytes), a growth between them,
 * and the download after the stream's queued work.
 */
class CudaStagingTest extends GpuTest {

    @Test
    void backToBackUploadsThroughOneBufferKeepTheirOwnBytes() {
        int n = 1 << 20;                                  // 4 MiB: the first copy is still running when the host writes
        int[] a = new int[n];
        int[] b = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
            b[i] = -i - 1;
        }
        int[] c = {7, 8, 9};
        try (PinnedStaging staging = new PinnedStaging("test");
             DeviceBuffer da = DeviceBuffer.allocate(4L * n); DeviceBuffer db = DeviceBuffer.allocate(4L * n);
             DeviceBuffer dc = DeviceBuffer.allocate(4L * n)) {
            staging.begin(4L * n);
            staging.putInts(0, a, 0, n);
            staging.upload(da.ptr(), 4L * n);
            staging.begin(4L * n);
            staging.putInts(0, b, 0, n);
            staging.upload(db.ptr(), 4L * n);
            staging.begin(8L * n);                        // grows: the old buffer is freed after its copy
            staging.putInts(0, c, 0, c.length);
            staging.upload(dc.ptr(), 4L * c.length);
            int[] got = new int[n];
            staging.downloadInts(da.ptr(), got, n);
            assertArrayEquals(a, got);
            staging.downloadInts(db.ptr(), got, n);
            assertArrayEquals(b, got);
            int[] small = new int[3];
            staging.downloadInts(dc.ptr(), small, 3);
            assertArrayEquals(c, small);
        }
    }

    @Test
    void tokenIdsUploadedAsynchronouslyReachTheEmbedding() {
        // embed uploads its ids through pinned memory without waiting; the read after it sees the rows
        var table = GpuTestSupport.bf16Matrix(new java.util.Random(3), "embed", 50, 32, 1f);
        int[] ids = {3, 49, 0, 3};
        try (var out = cuda.allocate(ids.length * 32L)) {
            cuda.embed(table, ids, out);
            float[] got = GpuTestSupport.download(cuda, out, ids.length * 32);
            float[] row = new float[32];
            for (int t = 0; t < ids.length; t++) {
                table.read((long) ids[t] * 32, row);
                assertArrayEquals(row, java.util.Arrays.copyOfRange(got, 32 * t, 32 * t + 32), "row " + t);
            }
        }
    }
}
