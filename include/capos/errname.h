/*
 * errname.h - names and plain sentences for the error codes a service or
 * a tool meets: the ABI's CAP_ERR_* (include/capos/ring.h), the codec's
 * CAPNP_E_* (include/capos/capnp.h) and capos-rt's CAPOS_RT_E_*
 * (services/rt/capos_rt.h). One table (lib/errname.c) for the runtime's
 * messages and the simulator's --trace, so a code never prints as a bare
 * number.
 */
#ifndef CAPOS_ERRNAME_H
#define CAPOS_ERRNAME_H

/* capos-rt's errors (positive space is never used). */
#define CAPOS_RT_E_NOT_FOUND (-100)       /* no CapSet entry of that name */
#define CAPOS_RT_E_WRONG_INTERFACE (-101) /* entry or result cap mismatch */
#define CAPOS_RT_E_NO_MEMORY (-102)       /* runtime heap exhausted */
#define CAPOS_RT_E_TIMEOUT (-103)         /* wait ran out of time */
#define CAPOS_RT_E_TOO_MANY (-104)        /* too many pending completions */

/* The constant's name without its prefix ("QUEUE_FULL", "NOSPACE",
 * "NOT_FOUND"), "ok" for 0 and above, or NULL for a code no table has. */
const char *capos_error_name(int code);

/* A short sentence for people ("a queue or table is full"), or NULL
 * for a code no table has. */
const char *capos_error_sentence(int code);

#endif /* CAPOS_ERRNAME_H */
