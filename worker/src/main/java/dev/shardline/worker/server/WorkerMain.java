package dev.shardline.worker.server;

import dev.shardline.model.config.ConfigKeyException;
import dev.shardline.worker.config.WorkerConfig;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The worker process entry point ({@code ./shardline worker --coordinator HOST:PORT --model DIR ...}): parses
 * flags ({@code --key=value} or {@code --key value}) over {@code SHARDLINE_WORKER_*} variables, starts a
 * {@link WorkerProcess}, prints {@code worker <id> listening on <host:port>} on stdout and blocks until the worker
 * stops: after a drain (the coordinator's, or one SIGTERM asked for: see {@link StopSignals}; a second SIGTERM or a
 * SIGINT stops at once), or at the end of stdin (the parent process went away; off with
 * {@code --stop-on-stdin-close=false}, never when stdin is /dev/null). Log lines go to stderr.
 */
public final class WorkerMain {
    /** Handled here, not by {@link WorkerConfig}. */
    static final String STDIN_FLAG = "stop-on-stdin-close";

    private WorkerMain() {
    }

    public static void main(String[] args) {
        System.exit(runProcess(System.getenv(), args));
    }

    /**
     * Runs a worker as this process's purpose: like {@link #run}, and SIGTERM drains it, a second SIGTERM or SIGINT
     * stops it at once (a signal that comes before the worker registered stops the process at once: it holds
     * nothing yet). Returns the exit status.
     */
    public static int runProcess(Map<String, String> env, String[] args) {
        return run(env, args, true);
    }

    /**
     * Runs a worker in this JVM until it stops, without touching the JVM's signal handling (tests; drain with
     * {@link WorkerProcess#requestDrain}); 0 after a clean stop, 2 for a bad configuration, 1 when it cannot start, 3 when
     * its backend failed for good (a sticky CUDA error; a new process is needed).
     */
    public static int run(Map<String, String> env, String[] args) {
        return run(env, args, false);
    }

    private static int run(Map<String, String> env, String[] args, boolean handleSignals) {
        Map<String, String> flags;
        WorkerConfig cfg;
        boolean watchStdin;
        try {
            flags = parseFlags(args);
            String stdin = flags.remove(STDIN_FLAG);
            watchStdin = stdin == null || Boolean.parseBoolean(stdin);
            cfg = WorkerConfig.parse(env, flags);
        } catch (ConfigKeyException | IllegalArgumentException e) {
            System.err.println("shardline worker: " + e.getMessage());
            System.err.println("keys (flags --key=value, or SHARDLINE_WORKER_KEY variables): " + WorkerConfig.knownKeys()
                    + "; --" + STDIN_FLAG + "=true|false");
            return 2;
        }
        AtomicReference<WorkerProcess> started = new AtomicReference<>();
        if (handleSignals) {
            StopSignals.install(new StopSignals.Listener() {
                @Override
                public void drain() {
                    WorkerProcess w = started.get();
                    if (w == null) {
                        stopBeforeStart("SIGTERM");
                    } else {
                        w.requestDrain();
                    }
                }

                @Override
                public void stopNow(String signal) {
                    WorkerProcess w = started.get();
                    if (w == null) {
                        stopBeforeStart(signal);
                    } else {
                        w.close();
                    }
                }
            }, System.err::println);
        }
        WorkerProcess worker;
        try {
            worker = WorkerProcess.start(cfg, System.err::println);
        } catch (WorkerStartException e) {
            System.err.println("shardline worker: " + e.getMessage());
            return 1;
        }
        started.set(worker);
        Thread hook = new Thread(worker::close, "shardline-worker-shutdown");   // SIGHUP, System.exit elsewhere
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.println("worker " + worker.workerId() + " listening on " + worker.address());
        System.out.flush();
        if (watchStdin && !stdinIsDevNull()) {
            Thread.ofPlatform().name("shardline-stdin-watch").daemon(true).start(() -> {
                waitForEof(System.in);
                System.err.println("stdin closed: stopping worker " + worker.workerId());
                worker.close();
            });
        }
        try {
            worker.awaitStopped();
        } catch (InterruptedException e) {
            worker.close();
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is what stopped it
        }
        if (worker.failure() != null) {
            System.err.println("shardline worker: stopped because its backend failed: " + worker.failure());
            return 3;
        }
        return 0;
    }

    private static void stopBeforeStart(String signal) {
        System.err.println(signal + " before the worker registered: stopping");
        System.exit(0);
    }

    /** {@code --key=value}, {@code --key value}, and a bare {@code --key} (= "true"). */
    static Map<String, String> parseFlags(String[] args) {
        Map<String, String> flags = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException("unexpected argument \"" + a + "\": flags are --key=value or --key value");
            }
            String body = a.substring(2);
            int eq = body.indexOf('=');
            if (eq >= 0) {
                flags.put(body.substring(0, eq), body.substring(eq + 1));
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                flags.put(body, args[++i]);
            } else {
                flags.put(body, "true");
            }
        }
        return flags;
    }

    private static boolean stdinIsDevNull() {
        try {
            Path fd0 = Path.of("/proc/self/fd/0");
            return Files.isSymbolicLink(fd0) && Files.readSymbolicLink(fd0).toString().equals("/dev/null");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static void waitForEof(InputStream in) {
        byte[] buf = new byte[256];
        try {
            while (in.read(buf) >= 0) {
                // discard
            }
        } catch (IOException e) {
            // treat as closed
        }
    }
}
