/* The conditional kernel of the Poisson core: the conditional distribution of referral
 * registrations by the deadline for POISSON_KERNEL_LANES trials side by side, one vector lane
 * each (see poisson_kernel_group). Apart from the core (models/poisson_core.c) so that its vector code can be
 * read, tested and tuned on its own. */
#ifndef ACCRUE_POISSON_KERNEL_H
#define ACCRUE_POISSON_KERNEL_H

#include <stddef.h>
#include "../engine/simd.h"

/* Conditional pmf terms below this (past the mean) end the window: the neglected tail is of the
 * same order (the terms fall at least geometrically there), far below any Monte Carlo standard
 * error a run can reach (5e-7 at the most trials allowed, 1e12). */
#define POISSON_TAIL_EPS 1e-14

/* Trials side by side in the conditional kernel (poisson_kernel_group): one 512-bit vector of doubles,
 * whose lanes the table's fixed-order sums (simd_sum_lanes) combine. Sixteen were no faster. */
#define POISSON_KERNEL_LANES SIMD_LANES

/* Screening weights the AVX-512 path keeps in registers: groups with at most this many take it
 * (on processors with AVX-512F), groups with more the portable path. */
#define POISSON_KERNEL_FAST_WEIGHTS 4

/* Conditional rows the portable path computes together (see kernel_rows in poisson_kernel.c). */
#define POISSON_KERNEL_BLOCK 8

/* The rows of the kernel's scratch pwin: the Poisson rows of the longest window (room), with
 * n_weight - 1 zero rows before them and n_weight + POISSON_KERNEL_BLOCK - 2 after, which the
 * portable path's blocks of conditional rows read. */
#define POISSON_KERNEL_PWIN_ROWS(room, n_weight) ((room) + 2 * (n_weight) + POISSON_KERNEL_BLOCK - 3)

/* The kernel's inputs and outputs for one group of trials, lane by lane. */
typedef struct poisson_kernel_lanes {
    double mean[POISSON_KERNEL_LANES];        /* M: the conditional Poisson mean */
    /* The row of the lane's mean: M less the group's base (see start). Past it, once its terms
     * are below the group's tail_eps (poisson_kernel_args), the lane's window is done; with
     * tail_eps infinite, right past it: the caller then sets it to the row where it cuts the
     * window (see cut windows in poisson_core.c). */
    double peak[POISSON_KERNEL_LANES];
    /* The lane's window begins at row `start` (a whole number, as a double) with first_term,
     * the Poisson pmf there; its rows before are 0. A window from 0 has start 0 and first term
     * e^-M; a large mean's starts below its mass (see conditional in poisson_core.c), the
     * group's rows counting from a base the caller shifts inv, from, tab and acc by. */
    double start[POISSON_KERNEL_LANES];
    double first_term[POISSON_KERNEL_LANES];
    /* The lane's rows start `shift` rows (a whole number, as a double) past the group's base:
     * its row m is count shift + m from the base, read in inv at shift + m + 1, a success from
     * row from - shift on. Lanes apart like this (some shift not 0) keep their own windows
     * instead of the union of the group's, for groups of large means far apart; then every
     * start is 0 and tab is 0 (the table's rows are the group's, the same in every lane). */
    double shift[POISSON_KERNEL_LANES];
    double uniform[POISSON_KERNEL_LANES];     /* inverts the window into the drawn count */
    double count[POISSON_KERNEL_LANES];       /* out: the drawn count of referral registrations
                                                 (rows from the group's base, shift included) */
    double p_success[POISSON_KERNEL_LANES];   /* out: P(success | the lane's draws) */
    /* out: the sum of the lane's window, the inversion's last cumulative sum. A uniform at or
     * above it falls past the window: count is then its last row, which a caller that cuts
     * windows replaces (see cut windows in poisson_core.c). */
    double mass[POISSON_KERNEL_LANES];
    double *weight;           /* [n_weight][POISSON_KERNEL_LANES] */
} poisson_kernel_lanes;


/* What the kernel needs besides its group's lanes: the plan's constants and the batch's
 * table, offset so that row c is c registrations after as_of (see conditional). */
typedef struct poisson_kernel_args {
    const double *inv;        /* the plan's 1 / k */
    size_t room;              /* the longest window */
    size_t n_weight;          /* screening weights per trial */
    size_t from;              /* rows from here on are successes */
    size_t tab;               /* rows below this are tabulated */
    double tail_eps;          /* a lane's window ends past its peak once its terms are below
                                 this: POISSON_TAIL_EPS, or INFINITY to end right past it */
    double *pwin;             /* scratch: POISSON_KERNEL_PWIN_ROWS(room, n_weight) rows of
                                 POISSON_KERNEL_LANES doubles (not every path uses it) */
    double *acc, *acc2;
} poisson_kernel_args;


/* The conditional distribution of one group (see poisson_kernel.c); returns its rows. The
 * same bits on every processor: the AVX-512 path it takes where it can and the portable one
 * perform the same IEEE operations in the same order, lane by lane. */
size_t poisson_kernel_group(const poisson_kernel_args *a, poisson_kernel_lanes *g);

/* The portable path of poisson_kernel_group (vectorised by the compiler for any x86-64), which
 * poisson_kernel_group takes when the processor lacks AVX-512 or the screening weights are many. The
 * two must give the same bits: tests/test_poisson_kernel.c compares them. */
size_t poisson_kernel_general(const poisson_kernel_args *a, poisson_kernel_lanes *g);

#endif
