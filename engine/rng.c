/* Philox4x32-10 as a gsl_rng_type (see rng.h). The layout follows GSL's rng/mt.c: a static
 * state, static set/get/get_double, one static const type and one exported pointer. */
#include "rng.h"

#include <string.h>

/* Philox4x32 constants of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as
 * 1, 2, 3" (SC 2011), as fixed by Random123: the two round multipliers and the Weyl sequence
 * increments (golden ratio and sqrt(3) - 1, as 32-bit fractions) that bump the key each round. */
#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)
#define PHILOX_ROUNDS 10

/* One Philox S-box round on x[4] under round key k[2]:
 *   (hi0, lo0) = M0 * x0,  (hi1, lo1) = M1 * x2   (full 64-bit products)
 *   x' = (hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0)
 * The 64-bit product is how compilers emit one widening multiply on every 64-bit target. */
static inline void philox_round(uint32_t x[4], uint32_t k0, uint32_t k1)
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * x[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * x[2];
    uint32_t y0 = (uint32_t)(p1 >> 32) ^ x[1] ^ k0;
    uint32_t y2 = (uint32_t)(p0 >> 32) ^ x[3] ^ k1;
    x[0] = y0;
    x[1] = (uint32_t)p1;
    x[2] = y2;
    x[3] = (uint32_t)p0;
}

void rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k0 = key[0], k1 = key[1];
    /* Round r uses key + r * W (mod 2^32): the key is bumped between rounds, not before the
     * first one (Random123 philox.h). The rounds form one serial dependency chain, so the
     * cost is latency; unrolling removes the loop overhead from that chain (about 15% faster
     * with gcc 12, no change with clang, which unrolls anyway). */
#if defined(__GNUC__)
#pragma GCC unroll 10
#endif
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        philox_round(x, k0, k1);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = x[0];
    out[1] = x[1];
    out[2] = x[2];
    out[3] = x[3];
}

/* The block computations. Every kernel computes consecutive blocks side by side: the ten rounds
 * of one block form a serial chain of multiplies, so one block at a time leaves the multiplier
 * idle most of the time, while independent blocks (lanes) fill it. All of them produce the words
 * rng_philox4x32_10 produces on each counter in turn. */

/* Blocks per pass of the portable kernel; its lane loop vectorises at any width. */
#define PORTABLE_LANES 8

/* Portable C: counter, key and block index as in rng_impl_blocks, nblocks a multiple of
 * PORTABLE_LANES. */
static void blocks_portable(const uint32_t ctr[4], const uint32_t key[2], uint64_t first,
                            uint32_t *out, size_t nblocks)
{
    for (size_t done = 0; done < nblocks; done += PORTABLE_LANES) {
        uint32_t x0[PORTABLE_LANES], x1[PORTABLE_LANES], x2[PORTABLE_LANES], x3[PORTABLE_LANES];
        for (int j = 0; j < PORTABLE_LANES; j++) {
            uint64_t block = first + done + (uint64_t)j;
            x0[j] = (uint32_t)block;
            x1[j] = (uint32_t)(block >> 32);
            x2[j] = ctr[2];
            x3[j] = ctr[3];
        }
        uint32_t k0 = key[0], k1 = key[1];
        for (int r = 0; r < PHILOX_ROUNDS; r++) {
#pragma omp simd
            for (int j = 0; j < PORTABLE_LANES; j++) {
                uint64_t p0 = (uint64_t)PHILOX_M0 * x0[j];
                uint64_t p1 = (uint64_t)PHILOX_M1 * x2[j];
                uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1[j] ^ k0;
                uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3[j] ^ k1;
                x0[j] = y0;
                x1[j] = (uint32_t)p1;
                x2[j] = y2;
                x3[j] = (uint32_t)p0;
            }
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint32_t *o = out + 4 * done;
        for (int j = 0; j < PORTABLE_LANES; j++) {
            o[4 * j] = x0[j];
            o[4 * j + 1] = x1[j];
            o[4 * j + 2] = x2[j];
            o[4 * j + 3] = x3[j];
        }
    }
}

/* The x86-64 kernels, compiled for AVX2 and AVX-512F through function attributes
 * (gcc and clang both accept them, and the intrinsics inside, without -mavx2 on the command
 * line) and chosen at run time with __builtin_cpu_supports, which also checks that the OS
 * saves the vector registers.
 * Intrinsics rather than the lane loop under target_clones: compilers vectorise that loop with a
 * shuffle after every multiply (gcc 12) or, given AVX-512DQ, with the slow 64x64-bit vpmullq.
 *
 * Each keeps one Philox word per 64-bit lane, in the lane's low half. vpmuludq multiplies the
 * low halves only and returns the full 64-bit product, so within the rounds no lane is ever
 * masked or shuffled: the high halves carry garbage that no multiply reads and that the final
 * store drops. A round on lanes x0..x3 under round key (k0, k1) is then
 *   p0 = M0 * lo(x0), p1 = M1 * lo(x2);  x' = (hi(p1) ^ x1 ^ k0, p1, hi(p0) ^ x3 ^ k1, p0)
 * where only low halves matter, which is the round of philox_round above.
 *
 * The AVX2 kernel uses 256-bit vectors (1.3 Gwords/s, Xeon, gcc 12), the AVX-512 kernel the
 * same rounds on 512-bit vectors (2.8 Gwords/s on its own). There was also the 256-bit code
 * compiled for AVX-512VL (its 32 registers and three-way xor: 1.9 Gwords/s), chosen on AVX-512
 * machines while the 512-bit kernel lost in the whole simulation (8 % slower, medians of 9
 * runs): 512-bit instructions lower the clock and fuse port 1's vector unit away, which cost the
 * scalar code around it more than the refill saved. Now that the simulation's own loops run on
 * 512-bit vectors (SIMD_CLONES) that price is paid anyway, and the 512-bit kernel wins:
 * bench/reference, 2e6 trials, 1 thread, medians of 7 interleaved runs of CPU time, 0.319
 * against 0.340 s for the AVX-512VL one, with the same words (the tests compare every kernel
 * with the reference). So every AVX-512 machine takes it, and the AVX-512VL one went. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RNG_HAVE_X86_KERNELS 1
#include <immintrin.h>

/* Independent vectors per pass (4 blocks each in 256 bits, 8 in 512): enough to cover the
 * round's latency (multiply, shift, xor: about 7 cycles) with the multiplier busy. 16 state
 * registers: AVX2 has 16 in all and spills a little, AVX-512 has 32. */
#define X86_VECTORS 4
#define X86_PASS (4 * X86_VECTORS)
/* The loops over the vectors must be unrolled for the vectors to live in registers: rolled, gcc
 * keeps them in memory and every round waits on a store and a reload. */
#define UNROLL_VECTORS _Pragma("GCC unroll 4")

/* The AVX2 kernel (nblocks a multiple of X86_PASS). */
__attribute__((target("avx2"))) static void
blocks_avx2(const uint32_t ctr[4], const uint32_t key[2], uint64_t first, uint32_t *out,
            size_t nblocks)
{
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);
    const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
    const __m256i c2 = _mm256_set1_epi64x(ctr[2]), c3 = _mm256_set1_epi64x(ctr[3]);
    for (size_t done = 0; done < nblocks; done += X86_PASS) {
        __m256i x0[X86_VECTORS], x1[X86_VECTORS], x2[X86_VECTORS], x3[X86_VECTORS];
        UNROLL_VECTORS
        for (int v = 0; v < X86_VECTORS; v++) {
            __m256i block = _mm256_add_epi64(
                _mm256_set1_epi64x((long long)(first + done + 4u * (unsigned)v)), lane);
            x0[v] = block;
            x1[v] = _mm256_srli_epi64(block, 32);
            x2[v] = c2;
            x3[v] = c3;
        }
        uint32_t k0 = key[0], k1 = key[1];
        for (int r = 0; r < PHILOX_ROUNDS; r++) {
            const __m256i vk0 = _mm256_set1_epi32((int)k0), vk1 = _mm256_set1_epi32((int)k1);
            UNROLL_VECTORS
            for (int v = 0; v < X86_VECTORS; v++) {
                __m256i p0 = _mm256_mul_epu32(x0[v], m0), p1 = _mm256_mul_epu32(x2[v], m1);
                /* The key is folded in first, off the multiply's critical path. */
                x0[v] = _mm256_xor_si256(_mm256_xor_si256(x1[v], vk0), _mm256_srli_epi64(p1, 32));
                x2[v] = _mm256_xor_si256(_mm256_xor_si256(x3[v], vk1), _mm256_srli_epi64(p0, 32));
                x1[v] = p1;
                x3[v] = p0;
            }
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        UNROLL_VECTORS
        for (int v = 0; v < X86_VECTORS; v++) {
            /* Qwords (x0 x1) in a and (x2 x3) in b for blocks 0-3; unpacking pairs them as
             * blocks (0, 2) and (1, 3); the 128-bit permutes put the blocks in order. */
            __m256i a = _mm256_blend_epi32(x0[v], _mm256_slli_epi64(x1[v], 32), 0xAA);
            __m256i b = _mm256_blend_epi32(x2[v], _mm256_slli_epi64(x3[v], 32), 0xAA);
            __m256i even = _mm256_unpacklo_epi64(a, b), odd = _mm256_unpackhi_epi64(a, b);
            uint32_t *o = out + 4 * (done + 4u * (unsigned)v);
            _mm256_storeu_si256((__m256i *)o, _mm256_permute2x128_si256(even, odd, 0x20));
            _mm256_storeu_si256((__m256i *)(o + 8), _mm256_permute2x128_si256(even, odd, 0x31));
        }
    }
}

/* The same rounds on 512-bit vectors, 8 blocks to a vector: 32 blocks a pass. */
#define X86_PASS_512 (8 * X86_VECTORS)
__attribute__((target("avx512f"))) static void
blocks_avx512(const uint32_t ctr[4], const uint32_t key[2], uint64_t first, uint32_t *out,
              size_t nblocks)
{
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0), m1 = _mm512_set1_epi64(PHILOX_M1);
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i c2 = _mm512_set1_epi64(ctr[2]), c3 = _mm512_set1_epi64(ctr[3]);
    /* Qword pairs (a, b) of blocks 0-7 after unpacking, per 128-bit chunk: lo holds blocks
     * 0, 2, 4, 6 and hi blocks 1, 3, 5, 7; these indices put blocks 0-3, then 4-7, in order. */
    const __m512i first4 = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
    const __m512i last4 = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
    for (size_t done = 0; done < nblocks; done += X86_PASS_512) {
        __m512i x0[X86_VECTORS], x1[X86_VECTORS], x2[X86_VECTORS], x3[X86_VECTORS];
        UNROLL_VECTORS
        for (int v = 0; v < X86_VECTORS; v++) {
            __m512i block = _mm512_add_epi64(
                _mm512_set1_epi64((long long)(first + done + 8u * (unsigned)v)), lane);
            x0[v] = block;
            x1[v] = _mm512_srli_epi64(block, 32);
            x2[v] = c2;
            x3[v] = c3;
        }
        uint32_t k0 = key[0], k1 = key[1];
        for (int r = 0; r < PHILOX_ROUNDS; r++) {
            const __m512i vk0 = _mm512_set1_epi32((int)k0), vk1 = _mm512_set1_epi32((int)k1);
            UNROLL_VECTORS
            for (int v = 0; v < X86_VECTORS; v++) {
                __m512i p0 = _mm512_mul_epu32(x0[v], m0), p1 = _mm512_mul_epu32(x2[v], m1);
                x0[v] = _mm512_xor_si512(_mm512_xor_si512(x1[v], vk0), _mm512_srli_epi64(p1, 32));
                x2[v] = _mm512_xor_si512(_mm512_xor_si512(x3[v], vk1), _mm512_srli_epi64(p0, 32));
                x1[v] = p1;
                x3[v] = p0;
            }
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        UNROLL_VECTORS
        for (int v = 0; v < X86_VECTORS; v++) {
            const __mmask16 odd_words = 0xAAAA;
            __m512i a = _mm512_mask_blend_epi32(odd_words, x0[v], _mm512_slli_epi64(x1[v], 32));
            __m512i b = _mm512_mask_blend_epi32(odd_words, x2[v], _mm512_slli_epi64(x3[v], 32));
            __m512i lo = _mm512_unpacklo_epi64(a, b), hi = _mm512_unpackhi_epi64(a, b);
            uint32_t *o = out + 4 * (done + 8u * (unsigned)v);
            _mm512_storeu_si512((void *)o, _mm512_permutex2var_epi64(lo, first4, hi));
            _mm512_storeu_si512((void *)(o + 16), _mm512_permutex2var_epi64(lo, last4, hi));
        }
    }
}

_Static_assert(RNG_BUF_BLOCKS % X86_PASS_512 == 0,
               "the buffer must hold whole passes of the 512-bit kernel");
_Static_assert(RNG_BUF_BLOCKS % X86_PASS == 0,
               "the buffer must hold whole passes of the x86 kernels");
#else
#define RNG_HAVE_X86_KERNELS 0
#endif

_Static_assert(RNG_BUF_BLOCKS % PORTABLE_LANES == 0,
               "the buffer must hold whole passes of the portable kernel");

int rng_impl_usable(rng_impl impl)
{
    switch (impl) {
    case RNG_IMPL_PORTABLE:
        return 1;
#if RNG_HAVE_X86_KERNELS
    case RNG_IMPL_AVX2:
        return __builtin_cpu_supports("avx2") != 0;
    case RNG_IMPL_AVX512:
        return __builtin_cpu_supports("avx512f") != 0;
#endif
    default:
        return 0;
    }
}

rng_impl rng_impl_chosen(void)
{
    if (rng_impl_usable(RNG_IMPL_AVX512))
        return RNG_IMPL_AVX512;
    if (rng_impl_usable(RNG_IMPL_AVX2))
        return RNG_IMPL_AVX2;
    return RNG_IMPL_PORTABLE;
}

/* Runs impl, which must be usable, on nblocks (a multiple of RNG_BUF_BLOCKS) blocks from the
 * 64-bit block index first. */
static void blocks_with(rng_impl impl, const uint32_t ctr[4], const uint32_t key[2],
                        uint64_t first, uint32_t *out, size_t nblocks)
{
#if RNG_HAVE_X86_KERNELS
    if (impl == RNG_IMPL_AVX512) {
        blocks_avx512(ctr, key, first, out, nblocks);
        return;
    }
    if (impl == RNG_IMPL_AVX2) {
        blocks_avx2(ctr, key, first, out, nblocks);
        return;
    }
#endif
    (void)impl;
    blocks_portable(ctr, key, first, out, nblocks);
}

int rng_impl_blocks(rng_impl impl, const uint32_t ctr[4], const uint32_t key[2], uint32_t *out,
                    size_t nblocks)
{
    if (!rng_impl_usable(impl) || nblocks % RNG_BUF_BLOCKS != 0)
        return -1;
    uint64_t first = (uint64_t)ctr[0] | (uint64_t)ctr[1] << 32;
    blocks_with(impl, ctr, key, first, out, nblocks);
    return 0;
}

/* Computes nblocks (a multiple of RNG_BUF_BLOCKS) blocks of s's stream from s->ctr on into out
 * and advances s->ctr past them. The processor check is a load and a bit test, nothing beside
 * the hundreds of cycles of a pass. */
static void stream_blocks(rng_state *s, uint32_t *out, size_t nblocks)
{
    uint64_t first = (uint64_t)s->ctr[0] | (uint64_t)s->ctr[1] << 32;
    blocks_with(rng_impl_chosen(), s->ctr, s->key, first, out, nblocks);
    uint64_t next = first + (uint64_t)nblocks;
    s->ctr[0] = (uint32_t)next;
    s->ctr[1] = (uint32_t)(next >> 32);
}

void rng_refill(rng_state *s)
{
    stream_blocks(s, s->buf, RNG_BUF_BLOCKS);
    s->idx = 0;
}

/* dst[0 .. n-1] = src[0 .. n-1] for the short copies of rng_state_words. A loop rather than
 * memcpy: gcc 12 expands a memcpy of unknown length as rep movsq, whose start-up cost is tens of
 * cycles, more than copying the few dozen words a trial wants. */
static void copy_words(uint32_t *dst, const uint32_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}

void rng_state_words(rng_state *s, uint32_t *dst, size_t n)
{
    if (n == 0)
        return;
    size_t left = s->idx < RNG_BUF_WORDS ? RNG_BUF_WORDS - s->idx : 0;
    size_t take = n < left ? n : left;
    copy_words(dst, s->buf + s->idx, take);
    s->idx += (uint32_t)take;
    dst += take;
    n -= take;
    /* The buffer is used up if anything is still wanted: the stream now stands at s->ctr, on a
     * buffer boundary, so whole buffers can go straight to dst. */
    size_t whole = n / RNG_BUF_WORDS;
    if (whole > 0) {
        stream_blocks(s, dst, whole * RNG_BUF_BLOCKS);
        dst += whole * RNG_BUF_WORDS;
        n -= whole * RNG_BUF_WORDS;
    }
    if (n > 0) {
        rng_refill(s);
        copy_words(dst, s->buf, n);
        s->idx = (uint32_t)n;
    }
}

void rng_state_seek(rng_state *s, uint64_t seed, uint64_t stream)
{
    s->key[0] = (uint32_t)seed;
    s->key[1] = (uint32_t)(seed >> 32);
    s->ctr[0] = 0;
    s->ctr[1] = 0;
    s->ctr[2] = (uint32_t)stream;
    s->ctr[3] = (uint32_t)(stream >> 32);
    memset(s->buf, 0, sizeof s->buf);
    s->idx = RNG_BUF_WORDS; /* empty: the first draw computes block 0 */
}

/* gsl_rng_set(r, s): key s, stream 0. unsigned long is 64 bits on LP64 and 32 on LLP64/ILP32;
 * both convert exactly to uint64_t. */
static void philox_set(void *vstate, unsigned long int seed)
{
    rng_state_seek(vstate, (uint64_t)seed, 0);
}

static unsigned long int philox_get(void *vstate)
{
    return rng_next32(vstate);
}

static double philox_get_double(void *vstate)
{
    return rng_state_uniform(vstate);
}

static const gsl_rng_type philox_type = {
    "philox4x32-10",   /* name */
    UINT32_C(0xffffffff), /* max: every 32-bit word is a possible output */
    0,                 /* min */
    sizeof(rng_state), /* size: plain data, so gsl_rng_memcpy/clone copy a stream exactly */
    philox_set,
    philox_get,
    philox_get_double,
};

const gsl_rng_type *rng_philox4x32 = &philox_type;

void rng_seek(gsl_rng *r, uint64_t seed, uint64_t stream)
{
    rng_state_seek(r->state, seed, stream);
}

/* The external definition of the inline function, for callers that take its address or
 * compile without inlining (C11 6.7.4p7). */
extern inline double rng_uniform(gsl_rng *r);
extern inline uint32_t rng_next32(rng_state *s);
extern inline double rng_uniform_of_words(uint32_t a, uint32_t b);
extern inline double rng_state_uniform(rng_state *s);
