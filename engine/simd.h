/* Vector copies of hot loops, chosen when the program loads.
 *
 * SIMD_CLONES before a function makes gcc compile it three times, for AVX-512, AVX2 and any
 * x86-64, and pick the best the processor has at load time (an ifunc). Only gcc on x86-64:
 * clang wants the attribute on every declaration, and the sanitisers on none.
 *
 * A cloned function must give the same result on every copy, or a run would depend on the
 * machine: elementwise IEEE arithmetic does (the project compiles without FMA contraction), a
 * floating-point reduction does only when written with a fixed number of partial sums
 * (SIMD_LANES), combined in a fixed order, as simd_sum_lanes does. */
#ifndef ACCRUE_SIMD_H
#define ACCRUE_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_CLONES
#endif

/* Partial sums of a reduction: one 512-bit vector of doubles. */
#define SIMD_LANES 8

/* The sum of the SIMD_LANES partial sums, as a fixed tree. */
static inline double simd_sum_lanes(const double *lane)
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

#endif
