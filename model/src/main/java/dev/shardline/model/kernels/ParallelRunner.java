package dev.shardline.model.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads for data-parallel loops with microsecond hand-off, built for the ~170 small
 * matmuls of a decode step. The calling thread is worker 0 and works too; workers 1..threads-1 are daemon threads
 * that spin briefly on the published job before parking, so back-to-back calls do not pay a futex wake-up.
 * Chunks are claimed dynamically, so a worker that the OS deschedules only slows itself.
 *
 * <p>One call runs at a time ({@link #run} is synchronized); the worker index lets bodies use per-thread scratch.
 */
public final class ParallelRunner implements AutoCloseable {

    /** One loop body: runs chunk {@code chunk} on worker {@code worker} (0 = the calling thread). */
    @FunctionalInterface
    public interface Body {
        void run(int chunk, int worker);
    }

    /** How long an idle worker spins before parking. */
    private static final long SPIN_NANOS = 200_000;

    private final int threads;
    private final Worker[] workers;
    private volatile Job job;
    private volatile boolean closed;

    /** Starts {@code threads - 1} worker threads (none for one thread). */
    public ParallelRunner(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            Thread t = new Thread(workers[i], "shardline-cpu-" + (i + 1));
            t.setDaemon(true);
            workers[i].thread = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code body} for chunks {@code 0..chunks-1} on all threads and returns when every chunk is done. */
    public synchronized void run(int chunks, Body body) {
        if (chunks <= 0) {
            return;
        }
        if (threads == 1 || chunks == 1) {
            for (int c = 0; c < chunks; c++) {
                body.run(c, 0);
            }
            return;
        }
        if (closed) {
            throw new IllegalStateException("ParallelRunner is closed");
        }
        Job j = new Job(body, chunks);
        job = j;
        for (Worker w : workers) {
            if (w.parked) {
                LockSupport.unpark(w.thread);
            }
        }
        j.work(0);
        long spins = 0;
        while (j.done.get() < chunks) {
            if (++spins < 100_000) {
                Thread.onSpinWait();
            } else {
                Thread.yield(); // a worker was descheduled mid-chunk: let it run
            }
        }
        Throwable failure = j.failure;
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    /** Stops the worker threads; later calls to {@link #run} with more than one chunk fail. */
    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w.thread);
        }
        for (Worker w : workers) {
            try {
                w.thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One published loop: its own chunk counter, so a late worker can never run a chunk of a newer job. */
    private static final class Job {
        final Body body;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(Body body, int chunks) {
            this.body = body;
            this.chunks = chunks;
        }

        void work(int worker) {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    body.run(c, worker);
                } catch (Throwable t) {
                    failure = t;
                }
                done.incrementAndGet();
            }
        }
    }

    private final class Worker implements Runnable {
        final int index;
        Thread thread;
        volatile boolean parked;

        Worker(int index) {
            this.index = index;
        }

        @Override
        public void run() {
            Job seen = null;
            long idleSince = System.nanoTime();
            while (!closed) {
                Job j = job;
                if (j != seen) {
                    seen = j;
                    j.work(index);
                    idleSince = System.nanoTime();
                    continue;
                }
                if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;
                if (job == seen && !closed) {
                    LockSupport.park(this);
                }
                parked = false;
                idleSince = System.nanoTime();
            }
        }
    }
}
