package dev.shardline.model.gguf;

import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.tensor.DType;
import dev.shardline.model.tensor.WeightTensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (version 2 or 3) mapped read-only. {@link #open} validates the whole header before anything is handed
 * out: magic, version, every metadata key and value, every tensor's dimensions, type, alignment and byte extent
 * (inside the file, no overlaps), so a corrupt or truncated file is a {@link CheckpointException} naming the file and
 * the tensor or key, never a SIGBUS or wrong numbers. Tensors are slices of the mapping (no copy); they must not be
 * used after {@link #close()}.
 *
 * <p>Metadata values: integers as {@link Long} (u64 above 2^63 is refused), floats as {@link Double}, bools,
 * strings, and arrays as {@link List} of those.
 */
public final class GgufFile implements AutoCloseable {
    static final int MAGIC = 0x46554747; // "GGUF" little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;

    private final Path file;
    private final Arena arena;
    private final MemorySegment mapped;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, GgufTensorInfo> tensors;
    private final long dataStart;
    private volatile boolean closed;

    private GgufFile(Path file, Arena arena, MemorySegment mapped, int version, Map<String, Object> metadata,
                     Map<String, GgufTensorInfo> tensors, long dataStart) {
        this.file = file;
        this.arena = arena;
        this.mapped = mapped;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.dataStart = dataStart;
    }

    /** Maps the file and validates its header. */
    public static GgufFile open(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 24) {
                throw new CheckpointException(file + ": " + size + " bytes is too short for a GGUF header (24 bytes at least)");
            }
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(file, arena, mapped);
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(file + ": cannot map GGUF file: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static GgufFile parse(Path file, Arena arena, MemorySegment mapped) {
        Cursor c = new Cursor(file, mapped);
        int magic = c.i32("magic");
        if (magic != MAGIC) {
            throw new CheckpointException(file + ": not a GGUF file: magic is 0x" + Integer.toHexString(magic)
                    + " (expected \"GGUF\", 0x" + Integer.toHexString(MAGIC) + ")");
        }
        int version = c.i32("version");
        if (version != 2 && version != 3) {
            throw new CheckpointException(file + ": GGUF version " + version + " is not supported (2 and 3 are)");
        }
        long tensorCount = c.count("tensor_count", 8 + 4 + 8 + 4 + 8);
        long kvCount = c.count("metadata_kv_count", 8 + 4);
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = c.string("metadata key " + i);
            int type = c.i32("type of metadata \"" + key + "\"");
            Object value = c.value(type, "metadata \"" + key + "\"");
            if (metadata.put(key, value) != null) {
                throw new CheckpointException(file + ": metadata key \"" + key + "\" appears twice");
            }
        }
        long alignment = DEFAULT_ALIGNMENT;
        if (metadata.containsKey("general.alignment")) {
            if (!(metadata.get("general.alignment") instanceof Long a) || a <= 0 || Long.bitCount(a) != 1 || a > 1 << 20) {
                throw new CheckpointException(file + ": metadata \"general.alignment\" must be a power of two, found "
                        + metadata.get("general.alignment"));
            }
            alignment = a;
        }
        List<long[]> raw = new ArrayList<>(); // dims..., type, offset per tensor
        List<String> names = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = c.string("name of tensor " + i);
            String what = "tensor \"" + name + "\"";
            int dims = c.i32("dimension count of " + what);
            if (dims < 1 || dims > MAX_DIMS) {
                throw new CheckpointException(file + ": " + what + " has " + dims + " dimensions (1 to " + MAX_DIMS + " allowed)");
            }
            long[] ne = new long[dims];
            for (int d = 0; d < dims; d++) {
                ne[d] = c.i64("dimension " + d + " of " + what);
                if (ne[d] <= 0 || ne[d] > 1L << 40) {
                    throw new CheckpointException(file + ": " + what + " has dimension " + d + " = "
                            + Long.toUnsignedString(ne[d]));
                }
            }
            long type = c.i32("type of " + what) & 0xffffffffL;
            long offset = c.i64("data offset of " + what);
            long[] r = Arrays.copyOf(ne, dims + 2);
            r[dims] = type;
            r[dims + 1] = offset;
            raw.add(r);
            names.add(name);
        }
        long dataStart = (c.pos + alignment - 1) / alignment * alignment;
        long dataSize = mapped.byteSize() - dataStart;
        if (dataSize < 0 && tensorCount > 0) {
            throw new CheckpointException(file + ": truncated: the file ends before its tensor data starts");
        }
        Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
        for (int i = 0; i < raw.size(); i++) {
            long[] r = raw.get(i);
            String name = names.get(i);
            long[] ne = Arrays.copyOf(r, r.length - 2);
            long typeId = r[r.length - 2];
            long offset = r[r.length - 1];
            GgmlType type = GgmlType.of(typeId);
            if (type == null) {
                throw new CheckpointException(file + ": tensor \"" + name + "\" has unknown ggml type " + typeId);
            }
            long elements = 1;
            for (long d : ne) {
                elements = Math.multiplyExact(elements, d);
            }
            long bytes = type.bytesFor(ne[0], elements);
            if (bytes < 0) {
                throw new CheckpointException(file + ": tensor \"" + name + "\" of type " + type + " has rows of "
                        + ne[0] + " elements, not a multiple of its block size " + type.blockSize());
            }
            if (offset % alignment != 0) {
                throw new CheckpointException(file + ": tensor \"" + name + "\" data offset " + offset
                        + " is not a multiple of the alignment " + alignment);
            }
            if (offset < 0 || offset + bytes > dataSize) {
                throw new CheckpointException(file + ": truncated or corrupt: tensor \"" + name + "\" ("
                        + type + ", " + bytes + " bytes at data offset " + offset + ") extends past the end of the file ("
                        + Math.max(0, dataSize) + " bytes of tensor data)");
            }
            if (tensors.put(name, new GgufTensorInfo(name, ne, type, offset, bytes)) != null) {
                throw new CheckpointException(file + ": tensor \"" + name + "\" appears twice");
            }
        }
        List<GgufTensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(GgufTensorInfo::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            GgufTensorInfo a = byOffset.get(i - 1);
            GgufTensorInfo b = byOffset.get(i);
            if (a.offset() + a.byteSize() > b.offset()) {
                throw new CheckpointException(file + ": tensors \"" + a.name() + "\" and \"" + b.name() + "\" overlap");
            }
        }
        return new GgufFile(file, arena, mapped, version, metadata, tensors, dataStart);
    }

    public Path file() {
        return file;
    }

    public int version() {
        return version;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    /** Tensors in header order. */
    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    public long byteSize() {
        return mapped.byteSize();
    }

    /**
     * The tensor as a slice of the mapping, with the row-major shape; a type Shardline does not compute with is an
     * error naming the tensor and its type.
     */
    public WeightTensor tensor(String name, String shownName) {
        if (closed) {
            throw new CheckpointException(file + ": tensor \"" + name + "\" requested after the file was closed");
        }
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new CheckpointException(file + ": tensor \"" + name + "\" is not in this file");
        }
        DType dtype = requireSupported(file, t);
        return new WeightTensor(shownName, dtype, t.shape(), mapped.asSlice(dataStart + t.offset(), t.byteSize()));
    }

    /** The dtype of a tensor, or an error naming the tensor and its unsupported type. */
    static DType requireSupported(Path file, GgufTensorInfo t) {
        if (t.type().dtype() == null) {
            throw new CheckpointException(file + ": tensor \"" + t.name() + "\" has type " + t.type()
                    + ", which Shardline does not read (supported: F32, F16, BF16, Q8_0, Q4_K, Q6_K; "
                    + "a Q4_K_M file holds Q4_K and Q6_K)");
        }
        return t.type().dtype();
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "GgufFile[" + file + ", " + tensors.size() + " tensors]";
    }

    /** Bounds-checked little-endian reads through the header. */
    private static final class Cursor {
        private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private final Path file;
        private final MemorySegment seg;
        long pos;

        Cursor(Path file, MemorySegment seg) {
            this.file = file;
            this.seg = seg;
        }

        private void need(long n, String what) {
            if (n < 0 || pos + n > seg.byteSize()) {
                throw new CheckpointException(file + ": truncated header: the file ends while reading " + what
                        + " at byte " + pos);
            }
        }

        int i32(String what) {
            need(4, what);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        long i64(String what) {
            need(8, what);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        /** A count of items each at least {@code minItemBytes} long: bounded by the bytes left. */
        long count(String what, long minItemBytes) {
            long n = i64(what);
            if (n < 0 || n > (seg.byteSize() - pos) / minItemBytes + 1) {
                throw new CheckpointException(file + ": truncated or corrupt header: " + what + " "
                        + Long.toUnsignedString(n) + " cannot fit in the file's " + seg.byteSize() + " bytes");
            }
            return n;
        }

        String string(String what) {
            long n = i64("length of " + what);
            need(n, what);
            byte[] b = seg.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                // llama.cpp vocabularies may hold tokens that are not valid UTF-8 on their own; keep them lossless
                return new String(b, StandardCharsets.ISO_8859_1);
            }
        }

        Object value(int type, String what) {
            return switch (type) {
                case 0 -> { need(1, what); yield (long) (seg.get(ValueLayout.JAVA_BYTE, pos++) & 0xff); }
                case 1 -> { need(1, what); yield (long) seg.get(ValueLayout.JAVA_BYTE, pos++); }
                case 2 -> { need(2, what); long v = seg.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos) & 0xffff; pos += 2; yield v; }
                case 3 -> { need(2, what); long v = seg.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), pos); pos += 2; yield v; }
                case 4 -> i32(what) & 0xffffffffL;
                case 5 -> (long) i32(what);
                case 6 -> (double) Float.intBitsToFloat(i32(what));
                case 7 -> {
                    need(1, what);
                    byte b = seg.get(ValueLayout.JAVA_BYTE, pos++);
                    if (b != 0 && b != 1) {
                        throw new CheckpointException(file + ": " + what + " is a bool of value " + b);
                    }
                    yield b == 1;
                }
                case 8 -> string(what);
                case 9 -> {
                    int elemType = i32("element type of " + what);
                    if (elemType == 9) {
                        throw new CheckpointException(file + ": " + what + " is an array of arrays (not supported)");
                    }
                    long n = count("length of " + what, 1);
                    List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 20));
                    for (long i = 0; i < n; i++) {
                        list.add(value(elemType, what + "[" + i + "]"));
                    }
                    yield Collections.unmodifiableList(list);
                }
                case 10 -> {
                    long v = i64(what);
                    if (v < 0) {
                        throw new CheckpointException(file + ": " + what + " = " + Long.toUnsignedString(v)
                                + " is too large");
                    }
                    yield v;
                }
                case 11 -> i64(what);
                case 12 -> Double.longBitsToDouble(i64(what));
                default -> throw new CheckpointException(file + ": " + what + " has unknown value type " + type);
            };
        }
    }
}
