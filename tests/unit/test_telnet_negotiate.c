/*
 * test_telnet_negotiate.c - telnet-gateway's option negotiation
 * (services/telnet-gateway/negotiate.c over libtelnet): the offers a
 * telnet client expects, answers (agreements and refusals) completing
 * it, the NAWS size, other options refused, sequences split across
 * reads, and hostile input (an unterminated subnegotiation, a flood of
 * requests) refused without growing anything.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "negotiate.h"

#define IAC 0xff
#define DONT 0xfe
#define DO 0xfd
#define WONT 0xfc
#define WILL 0xfb
#define SB 0xfa
#define SE 0xf0
#define ECHO 1
#define SGA 3
#define TTYPE 24
#define NAWS 31

static void assert_queued(struct tn_neg *n, const unsigned char *want,
                          size_t wlen)
{
    size_t len;
    const unsigned char *got = tn_neg_take(n, &len);
    assert_int_equal(len, wlen);
    if (wlen)
        assert_memory_equal(got, want, wlen);
}

/* A negotiation started with its offers already sent (taken). */
static void start_past_offers(struct tn_neg *n)
{
    size_t len;
    tn_neg_start(n);
    (void)tn_neg_take(n, &len);
}

static void start_offers_echo_sga_and_asks_naws(void **state)
{
    (void)state;
    struct tn_neg n;
    tn_neg_start(&n);
    static const unsigned char offers[] = {IAC, WILL, ECHO, IAC, WILL,
                                           SGA, IAC,  DO,   NAWS};
    assert_queued(&n, offers, sizeof offers);
    assert_int_equal(n.answered, 0);
    assert_null(n.bad);
}

static void client_agreement_completes_and_records_the_window(void **state)
{
    (void)state;
    struct tn_neg n;
    start_past_offers(&n);
    /* What a telnet client answers, plus an offer of its own (TTYPE). */
    static const unsigned char in[] = {
        IAC,  DO, ECHO, IAC, DO, SGA, IAC, WILL, NAWS, IAC,  SB,
        NAWS, 0,  80,   0,   24, IAC, SE,  IAC,  WILL, TTYPE};
    assert_true(tn_neg_feed(&n, in, sizeof in));
    assert_int_equal(n.answered, TN_ANS_ALL);
    assert_int_equal(n.cols, 80);
    assert_int_equal(n.rows, 24);
    assert_null(n.bad);
    /* Agreements need no reply; TTYPE is refused. */
    static const unsigned char reply[] = {IAC, DONT, TTYPE};
    assert_queued(&n, reply, sizeof reply);
}

static void refusals_are_answers_too(void **state)
{
    (void)state;
    struct tn_neg n;
    start_past_offers(&n);
    static const unsigned char in[] = {IAC, DONT, ECHO, IAC, DONT,
                                       SGA, IAC,  WONT, NAWS};
    assert_true(tn_neg_feed(&n, in, sizeof in));
    assert_int_equal(n.answered, TN_ANS_ALL);
    assert_int_equal(n.cols, 0);
    assert_null(n.bad);
}

static void repeated_and_changed_answers_never_loop(void **state)
{
    (void)state;
    struct tn_neg n;
    start_past_offers(&n);
    /* An agreement repeated needs no reply (a reply would loop). */
    static const unsigned char again[] = {IAC,  DO,  ECHO, IAC, DO,
                                          ECHO, IAC, DO,   ECHO};
    assert_false(tn_neg_feed(&n, again, sizeof again));
    assert_queued(&n, NULL, 0);
    /* Turned off after agreeing: confirmed once. */
    static const unsigned char off[] = {IAC, DONT, ECHO, IAC, DONT, ECHO};
    assert_false(tn_neg_feed(&n, off, sizeof off));
    static const unsigned char wont[] = {IAC, WONT, ECHO};
    assert_queued(&n, wont, sizeof wont);
    /* Asked again after that: agreed again. */
    static const unsigned char on[] = {IAC, DO, ECHO};
    assert_false(tn_neg_feed(&n, on, sizeof on));
    static const unsigned char will[] = {IAC, WILL, ECHO};
    assert_queued(&n, will, sizeof will);
    /* COMPRESS2 was never offered: a client starting it is refused. */
    static const unsigned char z[] = {IAC, SB, 86, IAC, SE};
    assert_false(tn_neg_feed(&n, z, sizeof z));
    assert_string_equal(n.bad, "compression was not negotiated");
}

static void answers_split_across_reads_and_user_bytes_are_dropped(void **st)
{
    (void)st;
    struct tn_neg n;
    start_past_offers(&n);
    static const unsigned char a[] = {IAC}, b[] = {DO, ECHO, 'a', 'b', IAC},
                               c[] = {DO, SGA, IAC, WILL};
    static const unsigned char d[] = {NAWS};
    assert_false(tn_neg_feed(&n, a, sizeof a));
    assert_false(tn_neg_feed(&n, b, sizeof b));
    assert_int_equal(n.answered, TN_ANS_ECHO);
    assert_false(tn_neg_feed(&n, c, sizeof c));
    assert_true(tn_neg_feed(&n, d, sizeof d));
    assert_int_equal(n.dropped, 2);
}

static void subnegotiation_split_across_reads_is_parsed_whole(void **st)
{
    (void)st;
    struct tn_neg n;
    start_past_offers(&n);
    static const unsigned char a[] = {IAC, WILL, NAWS, IAC, SB, NAWS, 0},
                               b[] = {132, 0, 40, IAC}, c[] = {SE};
    assert_false(tn_neg_feed(&n, a, sizeof a));
    assert_int_equal(n.cols, 0);
    assert_false(tn_neg_feed(&n, b, sizeof b));
    assert_int_equal(n.cols, 0);
    assert_false(tn_neg_feed(&n, c, sizeof c));
    assert_int_equal(n.cols, 132);
    assert_int_equal(n.rows, 40);
    assert_int_equal(n.dropped, 0);
    assert_null(n.bad);
}

/* A negotiation abandoned half-way (its connection gone, its process
 * stopped) is never ended: nothing of it may stay allocated. The run
 * under LeakSanitizer fails if the parser outlived a feed. */
static void negotiation_abandoned_mid_command_leaves_nothing_allocated(
    void **st)
{
    (void)st;
    struct tn_neg n;
    start_past_offers(&n);
    static const unsigned char half[] = {IAC, DO, ECHO, IAC, SB, NAWS, 0, 80};
    assert_false(tn_neg_feed(&n, half, sizeof half));
    assert_int_equal(n.answered, TN_ANS_ECHO);
    assert_int_equal(n.carryn, 5);
}

static void unterminated_subnegotiation_flood_is_refused(void **state)
{
    (void)state;
    struct tn_neg n;
    static unsigned char flood[3 + 20000];
    start_past_offers(&n);
    flood[0] = IAC;
    flood[1] = SB;
    flood[2] = NAWS;
    memset(flood + 3, 1, sizeof flood - 3);
    assert_false(tn_neg_feed(&n, flood, sizeof flood));
    assert_non_null(n.bad);
    assert_string_equal(n.bad, "malformed telnet negotiation (a "
                               "subnegotiation longer than 256 bytes)");
    /* Refused for good: more input changes nothing. */
    static const unsigned char ok[] = {IAC, DO, ECHO};
    assert_false(tn_neg_feed(&n, ok, sizeof ok));
}

static void request_flood_overflowing_the_replies_is_refused(void **state)
{
    (void)state;
    struct tn_neg n;
    unsigned char in[3 * 256];
    size_t k = 0;
    start_past_offers(&n);
    /* DO for every option the gateway does not offer: each is refused
     * with WONT (3 bytes), more than TN_OUTQ_MAX in all. */
    for (unsigned o = 5; o < 256; o++) {
        if (o == NAWS)
            continue;
        in[k++] = IAC;
        in[k++] = DO;
        in[k++] = (unsigned char)o;
    }
    assert_false(tn_neg_feed(&n, in, k));
    assert_non_null(n.bad);
    assert_true(n.outn <= TN_OUTQ_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_offers_echo_sga_and_asks_naws),
        cmocka_unit_test(client_agreement_completes_and_records_the_window),
        cmocka_unit_test(refusals_are_answers_too),
        cmocka_unit_test(repeated_and_changed_answers_never_loop),
        cmocka_unit_test(answers_split_across_reads_and_user_bytes_are_dropped),
        cmocka_unit_test(subnegotiation_split_across_reads_is_parsed_whole),
        cmocka_unit_test(
            negotiation_abandoned_mid_command_leaves_nothing_allocated),
        cmocka_unit_test(unterminated_subnegotiation_flood_is_refused),
        cmocka_unit_test(request_flood_overflowing_the_replies_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
