package dev.shardline.model.oracle;

import dev.shardline.model.json.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The independent oracle data under src/test/resources/oracle (copied from the project's shared data; its README
 * says what each file is): checkpoints this project did not write and the outputs of a float64 numpy forward pass
 * and of llama.cpp for them.
 */
public final class OracleData {
    private OracleData() {
    }

    public static Path dir() {
        try {
            Path p = Path.of(OracleData.class.getResource("/oracle/README.md").toURI()).getParent();
            if (!Files.isDirectory(p)) throw new IllegalStateException("oracle data missing: " + p);
            return p;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Path file(String name) {
        return dir().resolve(name);
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> json(String name) {
        try {
            return Json.parseObject(Files.readString(file(name)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    public static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    public static int[] ints(Object o) {
        return list(o).stream().mapToInt(x -> (int) (long) (Long) x).toArray();
    }

    public static double[] doubles(Object o) {
        return list(o).stream().mapToDouble(x -> ((Number) x).doubleValue()).toArray();
    }
}
