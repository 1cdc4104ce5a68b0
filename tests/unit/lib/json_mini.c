// SPDX-License-Identifier: GPL-2.0
/* A validating JSON parser for the unit tests: see json_mini.h. */
#include "json_mini.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct jm {
	const char *s, *p;
	char *why;
	size_t cap;
	unsigned int depth;
};

static bool jm_fail(struct jm *j, const char *what)
{
	snprintf(j->why, j->cap, "offset %zu: %s", (size_t)(j->p - j->s), what);
	return false;
}

static void jm_blanks(struct jm *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool jm_value(struct jm *j);

static bool jm_string(struct jm *j)
{
	int i;

	if (*j->p != '"')
		return jm_fail(j, "expected a string");
	j->p++;
	for (;;) {
		unsigned char c = (unsigned char)*j->p;

		if (!c)
			return jm_fail(j, "unterminated string");
		if (c < 0x20)
			return jm_fail(j, "control character in a string");
		j->p++;
		if (c == '"')
			return true;
		if (c != '\\')
			continue;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			for (i = 0; i < 4; i++, j->p++)
				if (!isxdigit((unsigned char)*j->p))
					return jm_fail(j, "bad \\u escape");
		} else if (!strchr("\"\\/bfnrt", c) || !c) {
			return jm_fail(j, "bad escape");
		}
	}
}

static bool jm_number(struct jm *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (isdigit((unsigned char)*j->p))
		while (isdigit((unsigned char)*j->p))
			j->p++;
	else
		return jm_fail(j, "bad number");
	if (*j->p == '.') {
		j->p++;
		if (!isdigit((unsigned char)*j->p))
			return jm_fail(j, "bad fraction");
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!isdigit((unsigned char)*j->p))
			return jm_fail(j, "bad exponent");
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	return true;
}

static bool jm_container(struct jm *j, char close)
{
	j->p++;
	if (++j->depth > 64)
		return jm_fail(j, "nested too deeply");
	jm_blanks(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		jm_blanks(j);
		if (close == '}') {
			if (!jm_string(j))
				return false;
			jm_blanks(j);
			if (*j->p != ':')
				return jm_fail(j, "expected ':'");
			j->p++;
		}
		if (!jm_value(j))
			return false;
		jm_blanks(j);
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		if (*j->p != ',')
			return jm_fail(j, close == '}' ? "expected ',' or '}'"
						       : "expected ',' or ']'");
		j->p++;
	}
}

static bool jm_value(struct jm *j)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i;

	jm_blanks(j);
	switch (*j->p) {
	case '{': return jm_container(j, '}');
	case '[': return jm_container(j, ']');
	case '"': return jm_string(j);
	}
	for (i = 0; i < 3; i++)
		if (!strncmp(j->p, words[i], strlen(words[i]))) {
			j->p += strlen(words[i]);
			return true;
		}
	return jm_number(j);
}

bool json_mini_valid(const char *s, char *why, size_t cap)
{
	struct jm j = { .s = s, .p = s, .why = why, .cap = cap };

	if (!jm_value(&j))
		return false;
	jm_blanks(&j);
	if (*j.p)
		return jm_fail(&j, "text after the value");
	return true;
}
