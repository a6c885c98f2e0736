/*
 * calls.c - telnet-gateway's asynchronous calls (gateway.h): submitting
 * one with a fresh tag. Their results are read with capos-rt's checked
 * helpers (capos_rt_result_msg, capos_rt_result_cap), since every result
 * is untrusted input from the kernel or the callee.
 */
#include "gateway.h"

/* Submit sqe with a fresh tag. Returns the tag, or 0 if the ring refused
 * it (nothing is then outstanding). */
uint64_t calls_submit(CapSqe *sqe)
{
    uint64_t tag = capos_rt_tag();
    sqe->user_data = tag;
    return capos_rt_submit(sqe) == 0 ? tag : 0;
}
