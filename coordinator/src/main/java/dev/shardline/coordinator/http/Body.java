package dev.shardline.coordinator.http;

import dev.shardline.model.json.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A JSON object of a request, read field by field; every error names the field by its path ({@code messages[2].role},
 * {@code stream_options.include_usage}). JSON null counts as absent, as OpenAI's API treats it.
 */
final class Body {
    private final Map<String, Object> map;
    private final String path;

    Body(Map<String, Object> map, String path) {
        this.map = map;
        this.path = path;
    }

    @SuppressWarnings("unchecked")
    static Body parse(String text) {
        Object v = Json.parse(text);
        if (!(v instanceof Map)) {
            throw ApiError.invalid(null, "the body must be a JSON object, got " + Json.typeName(v)).exception();
        }
        return new Body((Map<String, Object>) v, "");
    }

    String name(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        return map.get(key) != null;
    }

    Object raw(String key) {
        return map.get(key);
    }

    /**
     * Refuses keys outside {@code known}; {@code unsupported} keys (known to the OpenAI API, not served here) get
     * their own message.
     */
    void allowOnly(Set<String> known, Map<String, String> unsupported) {
        for (String k : map.keySet()) {
            if (map.get(k) == null) continue;
            if (unsupported.containsKey(k)) throw ApiError.unsupported(name(k), unsupported.get(k)).exception();
            if (!known.contains(k)) {
                throw ApiError.unsupported(name(k), "is not a parameter this server supports (supported: "
                        + String.join(", ", new TreeSet<>(known)) + ")").exception();
            }
        }
    }

    String string(String key) {
        Object v = map.get(key);
        if (v == null) throw ApiError.invalid(name(key), "is required").exception();
        if (!(v instanceof String s)) throw wrongType(key, "a string", v);
        return s;
    }

    String optString(String key, String fallback) {
        return has(key) ? string(key) : fallback;
    }

    Double optNumber(String key) {
        Object v = map.get(key);
        if (v == null) return null;
        if (!(v instanceof Number n)) throw wrongType(key, "a number", v);
        return n.doubleValue();
    }

    Long optInteger(String key) {
        Object v = map.get(key);
        if (v == null) return null;
        if (v instanceof Long l) return l;
        if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 9e15) return d.longValue();
        throw wrongType(key, "an integer", v);
    }

    Integer optInt(String key) {
        Long v = optInteger(key);
        if (v == null) return null;
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw ApiError.invalid(name(key), "is out of range: " + v).exception();
        }
        return v.intValue();
    }

    boolean optBool(String key, boolean fallback) {
        Object v = map.get(key);
        if (v == null) return fallback;
        if (!(v instanceof Boolean b)) throw wrongType(key, "true or false", v);
        return b;
    }

    @SuppressWarnings("unchecked")
    Body object(String key) {
        Object v = map.get(key);
        if (!(v instanceof Map)) throw wrongType(key, "an object", v);
        return new Body((Map<String, Object>) v, name(key));
    }

    List<Object> list(String key) {
        Object v = map.get(key);
        if (!(v instanceof List<?> l)) throw wrongType(key, "an array", v);
        return new ArrayList<>(l);
    }

    /** Element {@code i} of the array at {@code key}, as an object. */
    @SuppressWarnings("unchecked")
    Body element(String key, int i, Object v) {
        if (!(v instanceof Map)) {
            throw ApiError.invalid(name(key) + "[" + i + "]", "must be an object, got " + Json.typeName(v)).exception();
        }
        return new Body((Map<String, Object>) v, name(key) + "[" + i + "]");
    }

    Map<String, Object> map() {
        return map;
    }

    /** A list of token ids at {@code key}. */
    List<Integer> ids(String key) {
        List<Object> l = list(key);
        List<Integer> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            if (!(l.get(i) instanceof Long n) || n < 0 || n > Integer.MAX_VALUE) {
                throw ApiError.invalid(name(key) + "[" + i + "]", "must be a token id (an integer >= 0), got "
                        + l.get(i)).exception();
            }
            out.add(n.intValue());
        }
        return out;
    }

    private ApiError.ApiException wrongType(String key, String expected, Object v) {
        return ApiError.invalid(name(key), "must be " + expected + ", got " + Json.typeName(v)
                + (v == null ? "" : " " + abbreviate(Json.write(v)))).exception();
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
