package dev.shardline.model.gguf;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF (version 3) file: metadata, tensor infos, then every tensor's data at 32-byte aligned offsets. The
 * file is sized up front and mapped; each tensor's {@link Data} fills its own slice, so a large quantized model is
 * written without holding it in memory. Written to a temporary name and moved into place when complete.
 *
 * <p>Metadata values: String, Integer (u32, i32 when negative), Long (u64), Float (f32), Double (f64), Boolean, and
 * Lists of String or Integer (arrays).
 */
public final class GgufWriter {
    static final int ALIGNMENT = GgufFile.DEFAULT_ALIGNMENT;

    /** Fills a tensor's bytes (exactly its size). */
    public interface Data {
        void fill(MemorySegment dst);
    }

    /** One tensor: its GGUF name, type, row-major shape ({@code [rows, cols]}) and data. */
    public record Tensor(String name, GgmlType type, long[] shape, Data data) {
        long byteSize() {
            long elements = 1;
            for (long d : shape) elements *= d;
            return type.bytesFor(shape[shape.length - 1], elements);
        }
    }

    private GgufWriter() {
    }

    public static void write(Path out, Map<String, Object> metadata, List<Tensor> tensors) {
        ByteBuf h = new ByteBuf();
        h.i32(GgufFile.MAGIC).i32(3).i64(tensors.size()).i64(metadata.size());
        for (Map.Entry<String, Object> e : metadata.entrySet()) {
            h.str(e.getKey());
            value(h, e.getKey(), e.getValue(), true);
        }
        long offset = 0;
        List<Long> offsets = new ArrayList<>();
        for (Tensor t : tensors) {
            long size = t.byteSize();
            if (size < 0) {
                throw new IllegalArgumentException("tensor " + t.name() + ": rows of " + t.shape()[t.shape().length - 1]
                        + " are not whole " + t.type() + " blocks");
            }
            h.str(t.name()).i32(t.shape().length);
            for (int d = t.shape().length - 1; d >= 0; d--) h.i64(t.shape()[d]);   // ggml order: ne[0] = row length
            h.i32(t.type().id()).i64(offset);
            offsets.add(offset);
            offset = align(offset + size);
        }
        long dataStart = align(h.size());
        long total = dataStart + offset;
        Path tmp = out.resolveSibling(out.getFileName() + ".partial");
        try {
            Files.deleteIfExists(tmp);
            try (RandomAccessFile raf = new RandomAccessFile(tmp.toFile(), "rw")) {
                raf.setLength(total);
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment seg = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
                    MemorySegment.copy(MemorySegment.ofArray(h.bytes()), 0, seg, 0, h.size());
                    for (int i = 0; i < tensors.size(); i++) {
                        Tensor t = tensors.get(i);
                        t.data().fill(seg.asSlice(dataStart + offsets.get(i), t.byteSize()));
                    }
                    seg.force();
                }
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void value(ByteBuf h, String key, Object v, boolean withType) {
        switch (v) {
            case String s -> { if (withType) h.i32(8); h.str(s); }
            case Integer i -> { if (withType) h.i32(i < 0 ? 5 : 4); h.i32(i); }
            case Long l -> { if (withType) h.i32(10); h.i64(l); }
            case Float f -> { if (withType) h.i32(6); h.i32(Float.floatToRawIntBits(f)); }
            case Double d -> { if (withType) h.i32(12); h.i64(Double.doubleToRawLongBits(d)); }
            case Boolean b -> { if (withType) h.i32(7); h.u8(b ? 1 : 0); }
            case List<?> list -> {
                int elemType = list.isEmpty() || list.getFirst() instanceof String ? 8 : 5;
                h.i32(9).i32(elemType).i64(list.size());
                for (Object o : list) {
                    if (elemType == 8 && o instanceof String s) h.str(s);
                    else if (elemType == 5 && o instanceof Integer i) h.i32(i);
                    else throw new IllegalArgumentException("metadata " + key + ": mixed array element " + o);
                }
            }
            default -> throw new IllegalArgumentException("metadata " + key + ": unsupported value " + v.getClass());
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class ByteBuf {
        private ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private ByteBuf room(int n) {
            if (b.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                b.flip();
                bigger.put(b);
                b = bigger;
            }
            return this;
        }

        ByteBuf u8(int v) { room(1).b.put((byte) v); return this; }
        ByteBuf i32(int v) { room(4).b.putInt(v); return this; }
        ByteBuf i64(long v) { room(8).b.putLong(v); return this; }

        ByteBuf str(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            i64(bytes.length);
            room(bytes.length).b.put(bytes);
            return this;
        }

        int size() {
            return b.position();
        }

        byte[] bytes() {
            return java.util.Arrays.copyOf(b.array(), b.position());
        }
    }
}
