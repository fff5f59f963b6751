// Whether this CPU runs quant_avx512.c's kernels. Built without AVX-512 flags, so it is safe to call anywhere.
int shardline_quant_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vnni")
        && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
}
