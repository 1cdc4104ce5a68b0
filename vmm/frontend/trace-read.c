// SPDX-License-Identifier: GPL-2.0
/* Reading a --boot-trace file back: see include/lkvm/trace-read.h. */
#include "lkvm/trace-read.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
	const char *p;
	char *why;
	size_t cap;
};

static int fail(struct cursor *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct cursor *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->cap, fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_blanks(struct cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

static int expect(struct cursor *c, char ch)
{
	skip_blanks(c);
	if (*c->p != ch)
		return fail(c, "expected '%c'", ch);
	c->p++;
	return 0;
}

static int hex4(const char *s, unsigned int *v)
{
	unsigned int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 16 + (unsigned int)(isdigit((unsigned char)s[i])
			? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	return 0;
}

/* A JSON string at c->p into @buf (@size, truncated, NUL-terminated);
 * \uXXXX below 0x100 is that byte (trace_json_escape()'s inverse), any
 * other '?'. */
static int parse_string(struct cursor *c, char *buf, size_t size)
{
	size_t n = 0;
	unsigned int u;
	char ch;

	skip_blanks(c);
	if (*c->p != '"')
		return fail(c, "expected a string");
	c->p++;
	for (;;) {
		ch = *c->p++;
		if (!ch)
			return fail(c, "unterminated string");
		if (ch == '"')
			break;
		if ((unsigned char)ch < 0x20)
			return fail(c, "control character in a string");
		if (ch == '\\') {
			ch = *c->p++;
			switch (ch) {
			case '"': case '\\': case '/': break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u':
				if (hex4(c->p, &u))
					return fail(c, "bad \\u escape");
				c->p += 4;
				ch = u < 0x100 ? (char)u : '?';
				break;
			default:
				return fail(c, "bad escape in a string");
			}
		}
		if (n + 1 < size)
			buf[n++] = ch;
	}
	if (size)
		buf[n] = '\0';
	return 0;
}

/* An unsigned integer (all lkvm writes). */
static int parse_number(struct cursor *c, uint64_t *v)
{
	uint64_t x = 0;

	skip_blanks(c);
	if (!isdigit((unsigned char)*c->p))
		return fail(c, "expected a number");
	while (isdigit((unsigned char)*c->p)) {
		unsigned int d = (unsigned int)(*c->p++ - '0');

		if (x > (UINT64_MAX - d) / 10)
			return fail(c, "number out of range");
		x = x * 10 + d;
	}
	if (*c->p == '.' || *c->p == 'e' || *c->p == 'E')
		return fail(c, "expected a whole number");
	*v = x;
	return 0;
}

/* "args":{...}: numbers kept (the counters), strings skipped. */
static int parse_args(struct cursor *c, struct trace_read_event *ev)
{
	char key[TRACE_READ_NAME_MAX], skip[8];
	uint64_t v;

	if (expect(c, '{'))
		return -1;
	skip_blanks(c);
	if (*c->p == '}') {
		c->p++;
		return 0;
	}
	for (;;) {
		if (parse_string(c, key, sizeof(key)) || expect(c, ':'))
			return -1;
		skip_blanks(c);
		if (*c->p == '"') {
			if (parse_string(c, skip, sizeof(skip)))
				return -1;
		} else {
			if (parse_number(c, &v))
				return -1;
			if (ev->nargs < TRACE_READ_ARGS_MAX) {
				memcpy(ev->args[ev->nargs].key, key, sizeof(key));
				ev->args[ev->nargs++].value = v;
			}
		}
		skip_blanks(c);
		if (*c->p == '}') {
			c->p++;
			return 0;
		}
		if (expect(c, ','))
			return -1;
	}
}

enum { HAVE_NAME = 1, HAVE_PH = 2, HAVE_TS = 4, HAVE_DUR = 8 };

static int parse_member(struct cursor *c, struct trace_read_event *ev,
			unsigned int *have)
{
	char key[16], val[TRACE_READ_NAME_MAX];
	uint64_t v;

	if (parse_string(c, key, sizeof(key)) || expect(c, ':'))
		return -1;
	skip_blanks(c);
	if (!strcmp(key, "args"))
		return parse_args(c, ev);
	if (*c->p == '"') {
		if (!strcmp(key, "name")) {
			*have |= HAVE_NAME;
			return parse_string(c, ev->name, sizeof(ev->name));
		}
		if (parse_string(c, val, sizeof(val)))
			return -1;
		if (!strcmp(key, "cat")) {
			snprintf(ev->cat, sizeof(ev->cat), "%s", val);
		} else if (!strcmp(key, "ph")) {
			if (strlen(val) != 1)
				return fail(c, "bad \"ph\" '%s'", val);
			ev->ph = val[0];
			*have |= HAVE_PH;
		}
		return 0; /* "s", or a key added later */
	}
	if (*c->p == '{')
		return fail(c, "unexpected object for \"%s\"", key);
	if (parse_number(c, &v))
		return -1;
	if (!strcmp(key, "ts")) {
		ev->ts = v;
		*have |= HAVE_TS;
	} else if (!strcmp(key, "dur")) {
		ev->dur = v;
		*have |= HAVE_DUR;
	} else if (!strcmp(key, "tid")) {
		ev->tid = (uint32_t)v;
	}
	return 0;
}

/* The header line's origin and dropped-events count. */
static void parse_header(const char *line, struct trace_read *hdr)
{
	const char *o = strstr(line, "\"origin\":\"");
	const char *d = strstr(line, "\"dropped_events\":");

	if (!hdr)
		return;
	if (o) {
		o += strlen("\"origin\":\"");
		snprintf(hdr->origin, sizeof(hdr->origin), "%.*s",
			 (int)strcspn(o, "\""), o);
	}
	if (d)
		hdr->dropped = strtoul(d + strlen("\"dropped_events\":"), NULL,
				       10);
}

int trace_read_line(const char *line, struct trace_read_event *ev,
		    struct trace_read *hdr, char *why, size_t cap)
{
	struct cursor c = { .p = line, .why = why, .cap = cap };
	unsigned int have = 0;
	const char *start;

	memset(ev, 0, sizeof(*ev));
	skip_blanks(&c);
	if (!*c.p || !strncmp(c.p, "]}", 2) || !strncmp(c.p, "\"traceEvents\"", 13))
		return 0;
	if (!strncmp(c.p, "{\"displayTimeUnit\"", 18)) {
		parse_header(c.p, hdr);
		return 0;
	}
	start = c.p;
	if (*c.p != '{')
		return fail(&c, "not an event (expected '{')");
	c.p++;
	for (;;) {
		if (parse_member(&c, ev, &have))
			return -1;
		skip_blanks(&c);
		if (*c.p == '}')
			break;
		if (*c.p != ',')
			return fail(&c, "expected ',' or '}' at column %zu",
				    (size_t)(c.p - start) + 1);
		c.p++;
	}
	c.p++;
	skip_blanks(&c);
	if (*c.p == ',')
		c.p++;
	skip_blanks(&c);
	if (*c.p)
		return fail(&c, "unexpected text after the event");
	if ((have & (HAVE_NAME | HAVE_PH | HAVE_TS)) !=
	    (HAVE_NAME | HAVE_PH | HAVE_TS))
		return fail(&c, "an event without \"name\", \"ph\" or \"ts\"");
	if (ev->ph == 'X' && !(have & HAVE_DUR))
		return fail(&c, "a phase (\"ph\":\"X\") without \"dur\"");
	return 1;
}

int trace_read_file(FILE *f, struct trace_read *out, char *why, size_t cap)
{
	struct trace_read_event ev;
	char *line = NULL, msg[160];
	size_t len = 0, lineno = 0;
	bool closed = false;
	ssize_t n;
	int r = 0;

	memset(out, 0, sizeof(*out));
	while ((n = getline(&line, &len, f)) >= 0) {
		lineno++;
		if (closed && line[strspn(line, " \t\r\n")]) {
			snprintf(why, cap, "line %zu: text after the closing ]}",
				 lineno);
			r = -1;
			break;
		}
		r = trace_read_line(line, &ev, out, msg, sizeof(msg));
		if (r < 0) {
			snprintf(why, cap, "line %zu: %s", lineno, msg);
			break;
		}
		if (!r) {
			closed |= !strncmp(line + strspn(line, " \t"), "]}", 2);
			continue;
		}
		if (out->nr == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 256;
			void *p = realloc(out->ev, ncap * sizeof(*out->ev));

			if (!p) {
				snprintf(why, cap, "out of memory");
				r = -1;
				break;
			}
			out->ev = p;
			out->cap = ncap;
		}
		out->ev[out->nr++] = ev;
		r = 0;
	}
	if (!r && ferror(f)) {
		snprintf(why, cap, "%s", strerror(errno ? errno : EIO));
		r = -1;
	}
	/* A file cut short (lkvm killed while writing) has no ]}. */
	if (!r && !closed) {
		snprintf(why, cap, "%s", lineno ? "truncated (no closing ]})"
						: "empty");
		r = -1;
	}
	free(line);
	return r;
}

void trace_read_free(struct trace_read *t)
{
	free(t->ev);
	t->ev = NULL;
	t->nr = t->cap = 0;
}
