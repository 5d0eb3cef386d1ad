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

/* Computes RNG_BUF_BLOCKS consecutive blocks at once. The ten rounds of one block form a serial
 * chain of multiplies, so one block at a time leaves the multiplier idle most of the time;
 * independent blocks side by side (lanes) fill it, and the lane loop vectorises. The output is
 * the same as calling rng_philox4x32_10 on each counter in turn (the known-answer tests hold). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__)
/* One copy for AVX2 (four 32x32->64-bit multiplies per instruction) and one for any x86-64,
 * chosen when the program loads; the integer results are the same on both. (gcc only: clang
 * wants the attribute on the header's declaration, and the sanitisers on neither.) */
__attribute__((target_clones("avx2", "default")))
#endif
void rng_refill(rng_state *s)
{
    uint32_t x0[RNG_BUF_BLOCKS], x1[RNG_BUF_BLOCKS], x2[RNG_BUF_BLOCKS], x3[RNG_BUF_BLOCKS];
    uint64_t base = (uint64_t)s->ctr[0] | (uint64_t)s->ctr[1] << 32;
    for (int j = 0; j < RNG_BUF_BLOCKS; j++) {
        uint64_t block = base + (uint64_t)j;
        x0[j] = (uint32_t)block;
        x1[j] = (uint32_t)(block >> 32);
        x2[j] = s->ctr[2];
        x3[j] = s->ctr[3];
    }
    uint32_t k0 = s->key[0], k1 = s->key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
#pragma omp simd
        for (int j = 0; j < RNG_BUF_BLOCKS; j++) {
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
    for (int j = 0; j < RNG_BUF_BLOCKS; j++) {
        s->buf[4 * j] = x0[j];
        s->buf[4 * j + 1] = x1[j];
        s->buf[4 * j + 2] = x2[j];
        s->buf[4 * j + 3] = x3[j];
    }
    base += RNG_BUF_BLOCKS;
    s->ctr[0] = (uint32_t)base;
    s->ctr[1] = (uint32_t)(base >> 32);
    s->idx = 0;
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
extern inline double rng_state_uniform(rng_state *s);
