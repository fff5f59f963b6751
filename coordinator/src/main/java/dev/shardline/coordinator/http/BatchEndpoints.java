package dev.shardline.coordinator.http;

import java.util.List;
import java.util.Map;

/**
 * What the OpenAI Batch API routes ({@code /v1/files}, {@code /v1/batches}) need, in OpenAI's object shapes (maps
 * that become JSON as they are). Implemented over Kafka by the batch package; the HTTP adapter only translates.
 * Every method throws {@link BatchApiException} for a client's mistake (unknown id, bad field), naming it.
 */
public interface BatchEndpoints {
    Map<String, Object> uploadFile(String filename, String purpose, byte[] content);

    /** Uploaded files, newest first, then the output and error files of finished batches. */
    List<Map<String, Object>> listFiles();

    Map<String, Object> file(String id);

    byte[] fileContent(String id);

    Map<String, Object> deleteFile(String id);

    Map<String, Object> createBatch(String inputFileId, String endpoint, String completionWindow, Map<String, String> metadata);

    Map<String, Object> batch(String id);

    /** Newest first, after the batch {@code after} (a cursor; null = from the newest), at most {@code limit}. */
    List<Map<String, Object>> listBatches(String after, int limit);

    Map<String, Object> cancel(String id);

    /** A client mistake on a Batch API route: its status, OpenAI error code, the field it is about, and why. */
    final class BatchApiException extends RuntimeException {
        private final int status;
        private final String code;
        private final String param;

        public BatchApiException(int status, String code, String param, String message) {
            super(message);
            this.status = status;
            this.code = code;
            this.param = param;
        }

        ApiError error() {
            return new ApiError(status, ApiError.INVALID_REQUEST, code, param, getMessage(), null);
        }
    }
}
