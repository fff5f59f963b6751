package dev.shardline.model.gguf;

import dev.shardline.model.oracle.OracleData;
import dev.shardline.model.safetensors.CheckpointException;
import dev.shardline.model.weights.LayerRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Corrupt copies of a llama.cpp-written GGUF file: each gives a {@link CheckpointException} naming the file and
 * the tensor or field, and the intact file opens and loads.
 */
class GgufCorruptFileTest {
    @TempDir
    Path dir;

    /** Byte positions of each tensor's name, type and offset fields in a GGUF header (walked independently). */
    record Field(int namePos, int nameLen, int typePos, int offsetPos) {
    }

    static Map<String, Field> layout(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        bb.position(8);
        long tensors = bb.getLong();
        long kvs = bb.getLong();
        for (long i = 0; i < kvs; i++) {
            skipString(bb);
            skipValue(bb, bb.getInt());
        }
        Map<String, Field> out = new HashMap<>();
        for (long i = 0; i < tensors; i++) {
            int len = (int) bb.getLong();
            int namePos = bb.position();
            String name = new String(b, namePos, len, StandardCharsets.UTF_8);
            bb.position(namePos + len);
            int dims = bb.getInt();
            bb.position(bb.position() + 8 * dims);
            int typePos = bb.position();
            bb.getInt();
            int offsetPos = bb.position();
            bb.getLong();
            out.put(name, new Field(namePos, len, typePos, offsetPos));
        }
        return out;
    }

    private static void skipString(ByteBuffer bb) {
        long n = bb.getLong();
        bb.position((int) (bb.position() + n));
    }

    private static void skipValue(ByteBuffer bb, int type) {
        switch (type) {
            case 0, 1, 7 -> bb.get();
            case 2, 3 -> bb.getShort();
            case 4, 5, 6 -> bb.getInt();
            case 10, 11, 12 -> bb.getLong();
            case 8 -> skipString(bb);
            case 9 -> {
                int t = bb.getInt();
                long n = bb.getLong();
                for (long i = 0; i < n; i++) skipValue(bb, t);
            }
            default -> throw new IllegalStateException("type " + type);
        }
    }

    private byte[] original(String name) throws IOException {
        return Files.readAllBytes(OracleData.file(name));
    }

    private Path write(byte[] b) throws IOException {
        Path p = dir.resolve("model.gguf");
        Files.write(p, b);
        return p;
    }

    private static void fails(Path file, Executable body, String... parts) {
        CheckpointException e = assertThrows(CheckpointException.class, body::run);
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should contain \"" + p + "\": " + e.getMessage());
        }
    }

    interface Executable {
        void run() throws Exception;
    }

    @Test
    void intactFileOpensAndLoads() {
        GgufModel m = GgufModel.open(OracleData.file("qwen2-q-q4_k_m.gguf"));
        assertEquals(2, m.config().numHiddenLayers());
        assertEquals(256, m.config().hiddenSize());
        assertEquals(512, m.config().vocabSize());
        assertTrue(m.tokenizer().isEmpty(), "tokenizer.ggml.model none: no tokenizer");
        try (var w = m.load(LayerRange.whole(2), null)) {
            assertEquals("model.layers.1.mlp.down_proj.weight", w.layer(1).downWeight().name());
        }
    }

    @Test
    void badMagic() throws IOException {
        byte[] b = original("qwen2-q-q8_0.gguf");
        b[0] = 'X';
        Path p = write(b);
        fails(p, () -> GgufFile.open(p).close(), "not a GGUF file", "magic");
    }

    @Test
    void truncatedTensorData() throws IOException {
        byte[] b = original("qwen2-q-q8_0.gguf");
        Path p = write(Arrays.copyOf(b, b.length - 100));
        fails(p, () -> GgufFile.open(p).close(), "truncated", "extends past the end of the file");
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] b = original("qwen2-q-q8_0.gguf");
        Path p = write(Arrays.copyOf(b, 200));
        fails(p, () -> GgufFile.open(p).close(), "truncated", "header");
    }

    @Test
    void unsupportedTypeNamesTensorAndType() throws IOException {
        byte[] b = original("qwen2-q-q4_k_m.gguf");
        Field f = layout(b).get("blk.0.ffn_gate.weight");
        assertEquals(GgmlType.Q4_K.id(), ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(f.typePos()));
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(f.typePos(), GgmlType.IQ4_XS.id()); // smaller blocks: fits
        Path p = write(b);
        GgufModel m = GgufModel.open(p);
        fails(p, () -> m.load(LayerRange.whole(2), null).close(), "blk.0.ffn_gate.weight", "IQ4_XS");
    }

    @Test
    void unknownTypeId() throws IOException {
        byte[] b = original("qwen2-q-q8_0.gguf");
        Field f = layout(b).get("blk.1.attn_q.weight");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(f.typePos(), 99);
        Path p = write(b);
        fails(p, () -> GgufFile.open(p).close(), "blk.1.attn_q.weight", "unknown ggml type 99");
    }

    @Test
    void missingTensor() throws IOException {
        byte[] b = original("qwen2-q-q8_0.gguf");
        Field f = layout(b).get("blk.1.ffn_up.weight");
        b[f.namePos() + f.nameLen() - 1] = 'z';   // renamed to blk.1.ffn_up.weighz
        Path p = write(b);
        fails(p, () -> GgufModel.open(p), "blk.1.ffn_up.weight", "missing");
    }

    @Test
    void misalignedOffset() throws IOException {
        byte[] b = original("qwen2-q-q8_0.gguf");
        Field f = layout(b).get("blk.0.attn_k.weight");
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(f.offsetPos(), bb.getLong(f.offsetPos()) + 1);
        Path p = write(b);
        fails(p, () -> GgufFile.open(p).close(), "blk.0.attn_k.weight", "alignment");
    }

    @Test
    void overlappingTensors() throws IOException {
        byte[] b = original("qwen2-q-q8_0.gguf");
        Map<String, Field> l = layout(b);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(l.get("blk.0.attn_v.weight").offsetPos(), bb.getLong(l.get("blk.0.attn_k.weight").offsetPos()));
        Path p = write(b);
        fails(p, () -> GgufFile.open(p).close(), "overlap");
    }

    @Test
    void notAFile() {
        Path p = dir.resolve("absent.gguf");
        fails(p, () -> GgufModel.open(p), "does not exist");
    }
}
