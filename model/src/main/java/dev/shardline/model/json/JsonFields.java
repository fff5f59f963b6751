package dev.shardline.model.json;

import java.util.List;
import java.util.Map;

/**
 * Typed access to the fields of a parsed JSON object, with errors that name the document and the field.
 * Used by every reader of Hugging Face files (config.json, generation_config.json, safetensors headers).
 */
public final class JsonFields {
    private final String source;
    private final Map<String, Object> map;

    public JsonFields(String source, Map<String, Object> map) {
        this.source = source;
        this.map = map;
    }

    public String source() {
        return source;
    }

    public Map<String, Object> map() {
        return map;
    }

    public boolean has(String key) {
        return map.containsKey(key) && map.get(key) != null;
    }

    public Object raw(String key) {
        return map.get(key);
    }

    public int requireInt(String key) {
        if (!has(key)) throw missing(key);
        return toInt(key, map.get(key));
    }

    public int optInt(String key, int fallback) {
        return has(key) ? toInt(key, map.get(key)) : fallback;
    }

    public long requireLong(String key) {
        if (!has(key)) throw missing(key);
        Object v = map.get(key);
        if (v instanceof Long l) return l;
        throw wrongType(key, v, "an integer");
    }

    public double requireDouble(String key) {
        if (!has(key)) throw missing(key);
        return toDouble(key, map.get(key));
    }

    public double optDouble(String key, double fallback) {
        return has(key) ? toDouble(key, map.get(key)) : fallback;
    }

    public boolean optBoolean(String key, boolean fallback) {
        if (!has(key)) return fallback;
        Object v = map.get(key);
        if (v instanceof Boolean b) return b;
        throw wrongType(key, v, "true or false");
    }

    public String requireString(String key) {
        if (!has(key)) throw missing(key);
        Object v = map.get(key);
        if (v instanceof String s) return s;
        throw wrongType(key, v, "a string");
    }

    public String optString(String key, String fallback) {
        if (!has(key)) return fallback;
        Object v = map.get(key);
        if (v instanceof String s) return s;
        throw wrongType(key, v, "a string");
    }

    @SuppressWarnings("unchecked")
    public JsonFields optObject(String key) {
        if (!has(key)) return null;
        Object v = map.get(key);
        if (v instanceof Map) return new JsonFields(source + " field " + key, (Map<String, Object>) v);
        throw wrongType(key, v, "an object");
    }

    @SuppressWarnings("unchecked")
    public List<Object> optList(String key) {
        if (!has(key)) return null;
        Object v = map.get(key);
        if (v instanceof List) return (List<Object>) v;
        throw wrongType(key, v, "an array");
    }

    private int toInt(String key, Object v) {
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) return (int) (long) l;
        throw wrongType(key, v, "an integer");
    }

    private double toDouble(String key, Object v) {
        if (v instanceof Number n) return n.doubleValue();
        throw wrongType(key, v, "a number");
    }

    private JsonException missing(String key) {
        return new JsonException(source + ": required field \"" + key + "\" is missing");
    }

    private JsonException wrongType(String key, Object v, String expected) {
        return new JsonException(source + ": field \"" + key + "\" must be " + expected + ", found "
                + Json.typeName(v) + " " + Json.write(v));
    }
}
