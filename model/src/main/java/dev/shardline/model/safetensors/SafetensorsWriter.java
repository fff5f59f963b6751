package dev.shardline.model.safetensors;

import dev.shardline.model.json.Json;
import dev.shardline.model.tensor.DType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a safetensors file without holding tensor data in the heap: the header goes through a {@link FileChannel},
 * then the data area is mapped read-write and each tensor's {@link Filler} fills its own slice (possibly from several
 * threads). The header is padded with spaces to a multiple of 8 bytes and carries {@code __metadata__ {"format":"pt"}}.
 * The file is written under a temporary name and moved into place when complete.
 */
public final class SafetensorsWriter {

    private SafetensorsWriter() {
    }

    /** Writes a tensor's little-endian bytes into {@code target}, which is exactly the tensor's size. */
    @FunctionalInterface
    public interface Filler {
        void fill(MemorySegment target);

        /** A filler that copies fixed bytes (tests, small tensors). */
        static Filler bytes(byte[] data) {
            return target -> MemorySegment.copy(MemorySegment.ofArray(data), 0, target, 0, data.length);
        }
    }

    /** Called after each tensor: its name, bytes written so far in this file, bytes of the whole data area. */
    @FunctionalInterface
    public interface Progress {
        void tensorWritten(String name, long bytesWritten, long bytesTotal);
    }

    /** One tensor to write. */
    public record Tensor(String name, DType dtype, long[] shape, Filler filler) {
        public Tensor {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }

        public long byteSize() {
            long n = dtype.bytes();
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /** The header bytes (JSON padded with spaces to a multiple of 8) for tensors laid out in order. */
    public static byte[] header(List<Tensor> tensors) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("__metadata__", Map.of("format", "pt"));
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (Tensor t : tensors) {
            if (!names.add(t.name()) || t.name().equals("__metadata__")) {
                throw new IllegalArgumentException("tensor name \"" + t.name() + "\" used twice or reserved");
            }
            long end = offset + t.byteSize();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().name());
            entry.put("shape", Arrays.stream(t.shape()).boxed().toList());
            entry.put("data_offsets", List.of(offset, end));
            json.put(t.name(), entry);
            offset = end;
        }
        byte[] raw = Json.write(json).getBytes(StandardCharsets.UTF_8);
        int padded = (raw.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(raw, padded);
        Arrays.fill(out, raw.length, padded, (byte) ' ');
        return out;
    }

    /** Writes the file; on failure no file is left at {@code file}. */
    public static void write(Path file, List<Tensor> tensors, Progress progress) {
        List<Tensor> list = new ArrayList<>(tensors);
        byte[] header = header(list);
        long dataSize = 0;
        for (Tensor t : list) {
            dataSize += t.byteSize();
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".partial");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(header.length).put(header).flip();
                while (head.hasRemaining()) {
                    ch.write(head);
                }
                if (dataSize > 0) {
                    fillData(ch, 8L + header.length, dataSize, list, progress);
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new CheckpointException(file + ": cannot write safetensors file: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static void fillData(FileChannel ch, long start, long dataSize, List<Tensor> list, Progress progress)
            throws IOException {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = ch.map(FileChannel.MapMode.READ_WRITE, start, dataSize, arena);
            long offset = 0;
            for (Tensor t : list) {
                long size = t.byteSize();
                t.filler().fill(data.asSlice(offset, size));
                offset += size;
                if (progress != null) {
                    progress.tensorWritten(t.name(), offset, dataSize);
                }
            }
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the original error matters more
        }
    }
}
