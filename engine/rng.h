/* Random streams for accrue: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011) wrapped as a gsl_rng_type, so that GSL's samplers draw from it.
 * Each block of trials owns one stream keyed by (seed, block): streams are pure functions of
 * their key and counter, so a block's draws do not depend on which thread runs it. */
#ifndef ACCRUE_RNG_H
#define ACCRUE_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

/* The generator type: 32-bit outputs (min 0, max 2^32-1); get_double in [0, 1) with 53 random
 * bits. gsl_rng_set(r, s) selects key s and stream 0. */
extern const gsl_rng_type *rng_philox4x32;

/* One Philox4x32-10 bijection: encrypts counter ctr[4] under key key[2] into out[4]. Exposed
 * for the known-answer tests. */
void rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Points r (which must be of type rng_philox4x32) at the start of stream `stream` under key
 * `seed`: the key is the seed's two 32-bit halves, the stream number fills counter words 2 and 3.
 * Output i of the stream is word i % 4 of the block with counter
 * {i/4 low, i/4 high, stream low, stream high}. Distinct (seed, stream) pairs give distinct,
 * non-overlapping streams of 2^66 outputs (2^64 blocks of 4 words). */
void rng_seek(gsl_rng *r, uint64_t seed, uint64_t stream);

/* The generator's state, the body of r->state for r of type rng_philox4x32.
 * It is exposed for one reason only: so that rng_uniform, called about fifty times per simulated
 * trial, can be inlined instead of going through the gsl_rng vtable. That saves the indirect
 * call: measured 0.1 to 0.5 ns of about 6 ns per uniform (x86-64, -O2, clang and gcc 12). The
 * Philox block itself, a serial chain of 10 multiply rounds per 4 words, is most of the cost.
 * Treat the fields as private.
 * The buffer holds 32 blocks, two passes of the x86 kernels (rng.c): with 16, the fixed cost of a
 * refill (call, dispatch, loading constants) showed, rng_next32 falling from about 1.1 to 1.0
 * Gwords/s. 512 bytes per stream. */
#define RNG_BUF_BLOCKS 32
#define RNG_BUF_WORDS (4 * RNG_BUF_BLOCKS)
typedef struct rng_state {
    uint32_t key[2];             /* (seed low, seed high) */
    uint32_t ctr[4];             /* NEXT block: {index low, index high, stream low, high} */
    uint32_t buf[RNG_BUF_WORDS]; /* the outputs of the last RNG_BUF_BLOCKS blocks, in order */
    uint32_t idx;                /* next unused word of buf; RNG_BUF_WORDS when used up */
} rng_state;

/* Computes the RNG_BUF_BLOCKS blocks from s->ctr on into s->buf, advances the counter and
 * rewinds s->idx to 0.
 * The slow path of the inline functions below; not for other callers. */
void rng_refill(rng_state *s);

/* Copies the next n outputs of the stream into dst[0 .. n-1] and advances s past them: dst
 * receives exactly what n calls of rng_next32(s) would return, and the stream continues from the
 * same place afterwards. n = 0 does nothing (dst may then be NULL). dst needs no alignment and
 * must not overlap s. Whole buffers' worth of words are computed straight into dst, so s->buf
 * may afterwards hold words already returned; it is marked used up, never read again. */
void rng_state_words(rng_state *s, uint32_t *dst, size_t n);

/* The implementations of the block computation behind rng_refill and rng_state_words: portable
 * C everywhere, plus AVX2 (256-bit vectors) and AVX-512 (512-bit) versions on x86-64 with gcc
 * or clang, one chosen per call by what the processor supports. All produce the same
 * words (the tests compare each with rng_philox4x32_10). Exposed for those tests and for
 * benchmarks. */
typedef enum rng_impl {
    RNG_IMPL_PORTABLE,
    RNG_IMPL_AVX2,
    RNG_IMPL_AVX512,
    RNG_IMPL_COUNT
} rng_impl;

/* Whether impl is compiled into this build and the processor (and OS) can run it.
 * RNG_IMPL_PORTABLE always can. */
int rng_impl_usable(rng_impl impl);

/* The implementation rng_refill uses on this processor: the fastest usable one. */
rng_impl rng_impl_chosen(void);

/* Computes nblocks consecutive Philox blocks with impl into out[0 .. 4 * nblocks - 1]: block j
 * is rng_philox4x32_10 of counter {i low, i high, ctr[2], ctr[3]} under key, with
 * i = (ctr[0] | ctr[1] << 32) + j mod 2^64, its words in order. nblocks must be a multiple of
 * RNG_BUF_BLOCKS. Returns 0, or -1 without writing anything when impl is not usable or
 * nblocks is not such a multiple. Does not touch any stream state. */
int rng_impl_blocks(rng_impl impl, const uint32_t ctr[4], const uint32_t key[2], uint32_t *out,
                    size_t nblocks);

/* Sets s to the start of stream (seed, stream), as rng_seek does for a gsl_rng. */
void rng_state_seek(rng_state *s, uint64_t seed, uint64_t stream);

/* The next 32-bit output of the stream (what gsl_rng_get would return). */
inline uint32_t rng_next32(rng_state *s)
{
    if (s->idx >= RNG_BUF_WORDS)
        rng_refill(s);
    return s->buf[s->idx++];
}

/* A double in [0, 1) from two 32-bit words a, b, as in genrand_res53 of Matsumoto and
 * Nishimura's MT19937 reference code: ((a >> 5) * 2^26 + (b >> 6)) * 2^-53. The largest value
 * is 1 - 2^-53 and every step is exact in double arithmetic. For words drawn in bulk
 * (rng_state_words) that must give what rng_state_uniform would. */
inline double rng_uniform_of_words(uint32_t a, uint32_t b)
{
    return ((double)(a >> 5) * 67108864.0 + (double)(b >> 6)) * (1.0 / 9007199254740992.0);
}

/* rng_uniform_of_words of the next two 32-bit outputs, in that order. */
inline double rng_state_uniform(rng_state *s)
{
    uint32_t a = rng_next32(s);
    uint32_t b = rng_next32(s);
    return rng_uniform_of_words(a, b);
}

/* A uniform double in [0, 1) with 53 random bits, without going through the gsl_rng vtable
 * (same value gsl_rng_uniform would return next). r must be of type rng_philox4x32. */
inline double rng_uniform(gsl_rng *r)
{
    return rng_state_uniform((rng_state *)r->state);
}

#endif
