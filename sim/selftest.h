/*
 * selftest.h - the boot self-test of capos-sim (sim/selftest.c).
 */
#ifndef CAPOS_SIM_SELFTEST_H
#define CAPOS_SIM_SELFTEST_H

/* Run the self-test on a model that is up; 0 when every check passed. */
int selftest_run(void);

#endif /* CAPOS_SIM_SELFTEST_H */
