/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UNIT_JSON_MINI_H
#define LKVM_UNIT_JSON_MINI_H

/*
 * A small validating JSON (RFC 8259) parser for the unit tests: is a text
 * exactly one well-formed JSON value?  Nothing is built; the tests look
 * for what they expect with strstr() once the text is known to parse.
 */
#include <stdbool.h>
#include <stddef.h>

/* true when @s is one JSON value (blanks around it allowed); else false
 * with @why ("offset 12: expected ':'"). */
bool json_mini_valid(const char *s, char *why, size_t cap);

#endif
