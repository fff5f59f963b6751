package dev.shardline.cli;

import java.io.UncheckedIOException;

/** Maps the typed exceptions of the model module to one-line messages and exit codes, once, for every command. */
final class Errors {
    /** 2: the input (model directory, prompt, option) is at fault; 1: anything else. */
    static int exitCode(Throwable e) {
        return isUserError(e) ? 2 : 1;
    }

    static String describe(Throwable e) {
        String msg = e.getMessage();
        if (e instanceof UncheckedIOException u && u.getCause() != null) {
            msg = u.getCause().getMessage();
        }
        if (msg == null || msg.isBlank()) {
            msg = e.getClass().getSimpleName();
        }
        return msg;
    }

    private static boolean isUserError(Throwable e) {
        String pkg = e.getClass().getPackageName();
        return e instanceof IllegalArgumentException || pkg.startsWith("dev.shardline.model")
                || e instanceof dev.shardline.worker.cuda.CudaUnavailableException
                || e instanceof dev.shardline.model.config.ConfigKeyException;
    }

    private Errors() {
    }
}
