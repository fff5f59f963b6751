package dev.shardline.worker.cuda;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;

/**
 * Base of the tests that run kernels on a GPU: each test gets a fresh {@link CudaKernels} (closed afterwards, which
 * frees every device buffer), or is reported skipped with the driver's reason where no GPU is usable.
 */
@Tag("gpu")
abstract class GpuTest {
    protected CudaKernels cuda;

    @BeforeEach
    void openCuda() {
        GpuTestSupport.requireGpu();
        cuda = CudaBackend.create(1);
    }

    @AfterEach
    void closeCuda() {
        if (cuda != null) cuda.close();
    }
}
