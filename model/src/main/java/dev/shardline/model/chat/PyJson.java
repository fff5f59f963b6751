package dev.shardline.model.chat;

import dev.shardline.model.json.Json;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;

/**
 * The {@code tojson} filter of Hugging Face chat templates, i.e. Python's
 * {@code json.dumps(x, ensure_ascii=False)} with the default separators {@code ", "} and {@code ": "},
 * no indentation and keys in insertion order. The rendered prompt must match byte for byte what
 * transformers' {@code apply_chat_template} produces, so this does not reuse {@code Json.write}.
 *
 * <p>Accepted values: {@code Map} (keys written with {@code String.valueOf}), {@code Iterable}, arrays of
 * objects, {@code String}, {@code Character}, {@code Boolean}, integral numbers (written as Python ints),
 * {@code Double}/{@code BigDecimal} (written as Python's float {@code repr}: {@code 1.0}, {@code 1e-05},
 * {@code 1e+16}, {@code NaN}, {@code Infinity}), {@code Float} (converted through its decimal string, so
 * {@code 0.1f} writes {@code 0.1}), {@code null}.
 */
public final class PyJson {
    private PyJson() {
    }

    /** Serializes value as {@code json.dumps(value, ensure_ascii=False)} would. */
    public static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object value, int depth) {
        if (depth > 256) {
            throw new IllegalArgumentException("tojson: value nested deeper than 256 levels (cyclic?)");
        }
        switch (value) {
            case null -> sb.append("null");
            case String s -> quote(sb, s);
            case Character c -> quote(sb, c.toString());
            case Boolean b -> sb.append(b ? "true" : "false");
            case Byte n -> sb.append(n.longValue());
            case Short n -> sb.append(n.longValue());
            case Integer n -> sb.append(n.longValue());
            case Long n -> sb.append(n.longValue());
            case BigInteger n -> sb.append(n);
            case Float f -> sb.append(floatRepr(f.isNaN() || f.isInfinite() ? f.doubleValue() : Double.parseDouble(f.toString())));
            case Double d -> sb.append(floatRepr(d));
            case BigDecimal d -> sb.append(floatRepr(d.doubleValue()));
            case Map<?, ?> map -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!first) sb.append(", ");
                    first = false;
                    quote(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), depth + 1);
                }
                sb.append('}');
            }
            case Iterable<?> list -> {
                sb.append('[');
                boolean first = true;
                for (Object o : list) {
                    if (!first) sb.append(", ");
                    first = false;
                    write(sb, o, depth + 1);
                }
                sb.append(']');
            }
            case Object[] array -> write(sb, java.util.Arrays.asList(array), depth);
            default -> throw new IllegalArgumentException(
                    "tojson: cannot serialize " + value.getClass().getName() + " (use Map, List, String, Number, Boolean)");
        }
    }

    /**
     * Python's json string escaping with ensure_ascii=False: only '"', '\\' and control characters below 0x20,
     * which is exactly what {@link Json#quote} writes.
     */
    static void quote(StringBuilder sb, String s) {
        Json.quote(sb, s);
    }

    /**
     * Python's {@code float.__repr__}: the shortest round-tripping digits (Java's Double.toString gives the same
     * digits since JDK 19), positional when the decimal exponent is in [-4, 16), otherwise scientific with a
     * signed exponent of at least two digits.
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        // value = 0.d1d2d3... * 10^decpt
        int decpt = digits.length() - bd.scale();
        StringBuilder sb = new StringBuilder();
        if (d < 0) sb.append('-');
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                sb.append("0.").append("0".repeat(-decpt)).append(digits);
            } else if (decpt >= digits.length()) {
                sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
            } else {
                sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) sb.append('.').append(digits, 1, digits.length());
            int exp = decpt - 1;
            sb.append('e').append(exp < 0 ? '-' : '+');
            int a = Math.abs(exp);
            if (a < 10) sb.append('0');
            sb.append(a);
        }
        return sb.toString();
    }
}
