/* The accrual model's conditional kernel: the conditional distribution of referral
 * registrations by the deadline for KERNEL_LANES trials side by side, one vector lane each
 * (see kernel_group). Apart from the model (models/accrual.c) so that its vector code can be
 * read, tested and tuned on its own. */
#ifndef ACCRUE_ACCRUAL_KERNEL_H
#define ACCRUE_ACCRUAL_KERNEL_H

#include <stddef.h>
#include "../engine/simd.h"

/* Conditional pmf terms below this (past the mean) end the window: the neglected tail is of the
 * same order (the terms fall at least geometrically there), far below any Monte Carlo standard
 * error a run can reach (5e-7 at the most trials allowed, 1e12). */
#define POISSON_TAIL_EPS 1e-14

/* Trials side by side in the conditional kernel (kernel_group): one 512-bit vector of doubles,
 * whose lanes the table's fixed-order sums (simd_sum_lanes) combine. Sixteen were no faster. */
#define KERNEL_LANES SIMD_LANES

/* The kernel's inputs and outputs for one group of trials, lane by lane. */
typedef struct work_group {
    double M[KERNEL_LANES], v0[KERNEL_LANES], u[KERNEL_LANES], N[KERNEL_LANES], P[KERNEL_LANES];
    double *weight;           /* [n_weight][KERNEL_LANES] */
} work_group;


/* What the kernel needs besides its group's lanes: the plan's constants and the batch's
 * table, offset so that row c is c registrations after as_of (see conditional). */
typedef struct kernel_args {
    const double *inv;        /* the plan's 1 / k */
    size_t room;              /* the longest window */
    size_t n_weight;          /* screening weights per trial */
    size_t from;              /* rows from here on are successes */
    size_t tab;               /* rows below this are tabulated */
    double *pwin;             /* scratch: room rows of Poisson terms (not every path uses it) */
    double *acc, *acc2;
} kernel_args;


/* The conditional distribution of one group (see accrual_kernel.c); returns its rows. The
 * same bits on every processor: the AVX-512 path it takes where it can and the portable one
 * perform the same IEEE operations in the same order, lane by lane. */
size_t kernel_group(const kernel_args *a, work_group *g);

/* The portable path of kernel_group (vectorised by the compiler for any x86-64), which
 * kernel_group takes when the processor lacks AVX-512 or the screening weights are many. The
 * two must give the same bits: tests/test_accrual_kernel.c compares them. */
size_t kernel_general(const kernel_args *a, work_group *g);

#endif
