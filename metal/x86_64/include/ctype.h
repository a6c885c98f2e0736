/*
 * ctype.h of the bare-metal port's freestanding C library
 * (metal/x86_64/libc.c): the "C" locale, ASCII only.
 */
#ifndef CAPOS_METAL_CTYPE_H
#define CAPOS_METAL_CTYPE_H

int tolower(int c);
int toupper(int c);
int isdigit(int c);
int isspace(int c);
int isprint(int c);

#endif /* CAPOS_METAL_CTYPE_H */
