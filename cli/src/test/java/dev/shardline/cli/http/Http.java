package dev.shardline.cli.http;

import dev.shardline.model.json.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A raw HTTP client for the tests (the JDK's), with the API key, and SSE events read one at a time. */
final class Http implements AutoCloseable {
    final String base;
    final String key;
    final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    Http(String base, String key) {
        this.base = base;
        this.key = key;
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json");
        if (key != null) b.header("Authorization", "Bearer " + key);
        return b;
    }

    HttpResponse<String> post(String path, Object body) {
        return send(request(path).POST(HttpRequest.BodyPublishers.ofString(body instanceof String s ? s : Json.write(body))).build());
    }

    HttpResponse<String> get(String path) {
        return send(request(path).GET().build());
    }

    HttpResponse<String> send(HttpRequest r) {
        try {
            return client.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A streaming POST: events are read as they come. */
    Events stream(String path, Object body) {
        try {
            HttpResponse<InputStream> r = client.send(request(path).POST(HttpRequest.BodyPublishers.ofString(Json.write(body))).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            return new Events(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An SSE body read event by event. */
    static final class Events implements AutoCloseable {
        final HttpResponse<InputStream> response;
        private final BufferedReader in;

        Events(HttpResponse<InputStream> response) {
            this.response = response;
            this.in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        }

        /** The next event's data ("[DONE]" at the end), or null when the body ended. */
        String next() {
            try {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        String data = line.substring(6);
                        in.readLine();                       // the blank line that ends the event
                        return data;
                    }
                }
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Every remaining event's JSON, up to [DONE] (which must come). */
        List<Map<String, Object>> rest() {
            List<Map<String, Object>> out = new ArrayList<>();
            String d;
            while ((d = next()) != null) {
                if (d.equals("[DONE]")) return out;
                out.add(Json.parseObject(d));
            }
            throw new AssertionError("the stream ended without [DONE]");
        }

        @Override
        public void close() {
            try {
                response.body().close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    /** obj.a.b[0].c style access: path elements are keys or list indexes. */
    static Object at(Object o, Object... path) {
        for (Object p : path) {
            o = p instanceof Integer i ? list(o).get(i) : map(o).get((String) p);
        }
        return o;
    }

    @Override
    public void close() {
        client.close();
    }
}
