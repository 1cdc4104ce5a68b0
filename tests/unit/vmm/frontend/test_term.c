// SPDX-License-Identifier: GPL-2.0
/* The host console (vmm/frontend/term.c): the Ctrl-A escape filter and the reader. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/term.h"
#include "test.h"

#define CTRL_A 0x01

struct sink {
	pthread_mutex_t lock;
	uint8_t buf[256];
	size_t len;
	int escapes;      /* Ctrl-A x */
	int link_escapes; /* Ctrl-A l */
	size_t refuse_after; /* input returns false once len reaches this */
};

static bool sink_input(void *opaque, uint8_t c)
{
	struct sink *s = opaque;
	bool ok;

	pthread_mutex_lock(&s->lock);
	if (s->len < sizeof(s->buf))
		s->buf[s->len++] = c;
	ok = !s->refuse_after || s->len < s->refuse_after;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void sink_escape(void *opaque, uint8_t key)
{
	struct sink *s = opaque;

	pthread_mutex_lock(&s->lock);
	if (key == 'l')
		s->link_escapes++;
	else if (key == 'x')
		s->escapes++;
	pthread_mutex_unlock(&s->lock);
}

static struct sink sink;

static void sink_reset(void)
{
	memset(&sink, 0, sizeof(sink));
	pthread_mutex_init(&sink.lock, NULL);
}

/* A terminal struct that believes it is a tty, without touching one. */
static void fake_tty(struct term *t, bool tty)
{
	memset(t, 0, sizeof(*t));
	t->in_fd = t->out_fd = t->msg_fd = t->wake_fd = -1;
	t->in_is_tty = tty;
	t->input = sink_input;
	t->escape = sink_escape;
	t->opaque = &sink;
}

static void feed(struct term *t, const char *s, size_t n, bool *stopped)
{
	size_t i;
	bool stop = false;

	*stopped = false;
	for (i = 0; i < n; i++) {
		term_handle_input_byte(t, (uint8_t)s[i], &stop);
		if (stop) {
			*stopped = true;
			return;
		}
	}
}

TEST(plain_bytes)
{
	struct term t;
	bool stopped;

	sink_reset();
	fake_tty(&t, true);
	feed(&t, "hello\r", 6, &stopped);
	CHECK(!stopped);
	CHECK_EQ(sink.len, 6);
	CHECK_EQ(memcmp(sink.buf, "hello\r", 6), 0);
	CHECK_EQ(sink.escapes, 0);
}

TEST(ctrl_a_x_escapes)
{
	struct term t;
	bool stopped;

	sink_reset();
	fake_tty(&t, true);
	feed(&t, "a\001xb", 4, &stopped);
	CHECK(!stopped);
	CHECK_EQ(sink.escapes, 1);
	CHECK_EQ(sink.len, 2);
	CHECK_EQ(memcmp(sink.buf, "ab", 2), 0);
	feed(&t, "\001X", 2, &stopped);
	CHECK_EQ(sink.escapes, 2);
	CHECK_EQ(sink.len, 2);
}

TEST(ctrl_a_l_toggles_link)
{
	struct term t;
	bool stopped;

	sink_reset();
	fake_tty(&t, true);
	feed(&t, "a\001lb\001L", 6, &stopped);
	CHECK(!stopped);
	CHECK_EQ(sink.link_escapes, 2);
	CHECK_EQ(sink.escapes, 0); /* the VM goes on */
	CHECK_EQ(sink.len, 2);
	CHECK_EQ(memcmp(sink.buf, "ab", 2), 0);
	/* Not at a terminal: the guest gets the bytes. */
	sink_reset();
	fake_tty(&t, false);
	feed(&t, "\001l", 2, &stopped);
	CHECK_EQ(sink.link_escapes, 0);
	CHECK_EQ(sink.len, 2);
}

TEST(ctrl_a_passthrough)
{
	struct term t;
	bool stopped;

	sink_reset();
	fake_tty(&t, true);
	/* Ctrl-A Ctrl-A sends one Ctrl-A. */
	feed(&t, "\001\001", 2, &stopped);
	CHECK_EQ(sink.len, 1);
	CHECK_EQ(sink.buf[0], CTRL_A);
	/* Ctrl-A then anything else sends both (e.g. emacs's Ctrl-A c). */
	feed(&t, "\001c", 2, &stopped);
	CHECK_EQ(sink.len, 3);
	CHECK_EQ(sink.buf[1], CTRL_A);
	CHECK_EQ(sink.buf[2], 'c');
	/* "x" alone is just an x. */
	feed(&t, "x", 1, &stopped);
	CHECK_EQ(sink.len, 4);
	CHECK_EQ(sink.buf[3], 'x');
	CHECK_EQ(sink.escapes, 0);
	/* A pending Ctrl-A holds nothing back... until the next byte. */
	feed(&t, "\001", 1, &stopped);
	CHECK_EQ(sink.len, 4);
	CHECK(t.saw_ctrl_a);
}

TEST(not_a_tty_no_escapes)
{
	struct term t;
	bool stopped;

	sink_reset();
	fake_tty(&t, false);
	/* Piped input is delivered verbatim: Ctrl-A x must not stop the VM. */
	feed(&t, "\001x\001\001", 4, &stopped);
	CHECK(!stopped);
	CHECK_EQ(sink.escapes, 0);
	CHECK_EQ(sink.len, 4);
	CHECK_EQ(memcmp(sink.buf, "\001x\001\001", 4), 0);
}

TEST(stop_when_device_refuses)
{
	struct term t;
	bool stopped;

	sink_reset();
	sink.refuse_after = 2;
	fake_tty(&t, true);
	feed(&t, "abcd", 4, &stopped);
	CHECK(stopped);
	CHECK_EQ(sink.len, 2);
	/* Also when the refused byte is the Ctrl-A flushed before another. */
	sink_reset();
	sink.refuse_after = 1;
	fake_tty(&t, true);
	feed(&t, "\001q", 2, &stopped);
	CHECK(stopped);
	CHECK_EQ(sink.len, 1);
	CHECK_EQ(sink.buf[0], CTRL_A);
}

/* What a pipe holds right now (non-blocking), NUL-terminated. */
static size_t drain(int fd, char *buf, size_t size)
{
	ssize_t n;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

TEST(ctrl_a_help)
{
	struct term t;
	bool stopped;
	char buf[512];
	int msg[2];

	REQUIRE(pipe(msg) == 0);
	sink_reset();
	fake_tty(&t, true);
	t.msg_fd = msg[1];
	/* Ctrl-A ? and Ctrl-A h list the escapes; the guest sees neither. */
	feed(&t, "\001?", 2, &stopped);
	CHECK(!stopped);
	drain(msg[0], buf, sizeof(buf));
	CHECK_STREQ(buf, TERM_HELP);
	CHECK(strstr(buf, "Ctrl-A x") != NULL);
	feed(&t, "\001h", 2, &stopped);
	drain(msg[0], buf, sizeof(buf));
	CHECK_STREQ(buf, TERM_HELP);
	CHECK_EQ(sink.len, 0);
	CHECK_EQ(sink.escapes, 0);
	/* Piped input: '?' after Ctrl-A is the guest's. */
	fake_tty(&t, false);
	t.msg_fd = msg[1];
	feed(&t, "\001?", 2, &stopped);
	CHECK_EQ(drain(msg[0], buf, sizeof(buf)), 0);
	CHECK_EQ(sink.len, 2);
	close(msg[0]);
	close(msg[1]);
}

/* term_start() on a pseudo-terminal: the banner, unless quiet. */
static void start_on_pty(bool quiet, char *buf, size_t size)
{
	int master, slave, msg[2];
	struct term t;

	buf[0] = '\0';
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		CHECK(!"no pseudo-terminal");
		return;
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	REQUIRE(slave >= 0);
	REQUIRE(pipe(msg) == 0);
	sink_reset();
	term_init(&t, slave, slave);
	CHECK(t.in_is_tty);
	t.msg_fd = msg[1];
	t.quiet = quiet;
	CHECK_EQ(term_start(&t, sink_input, sink_escape, &sink), 0);
	CHECK(t.raw_active);
	term_stop(&t);
	drain(msg[0], buf, size);
	close(msg[0]);
	close(msg[1]);
	close(slave);
	close(master);
}

TEST(banner_at_a_terminal)
{
	char buf[256];
	int in[2], msg[2];
	struct term t;

	start_on_pty(false, buf, sizeof(buf));
	CHECK_STREQ(buf, TERM_BANNER);
	CHECK(strstr(buf, "Ctrl-A ?") != NULL);
	start_on_pty(true, buf, sizeof(buf));
	CHECK_STREQ(buf, "");
	/* Not a terminal: no banner (scripts read lkvm's output). */
	REQUIRE(pipe(in) == 0);
	REQUIRE(pipe(msg) == 0);
	term_init(&t, in[0], STDOUT_FILENO);
	t.msg_fd = msg[1];
	CHECK_EQ(term_start(&t, sink_input, sink_escape, &sink), 0);
	term_stop(&t);
	CHECK_EQ(drain(msg[0], buf, sizeof(buf)), 0);
	close(in[0]);
	close(in[1]);
	close(msg[0]);
	close(msg[1]);
}

static size_t sink_len(void)
{
	size_t n;

	pthread_mutex_lock(&sink.lock);
	n = sink.len;
	pthread_mutex_unlock(&sink.lock);
	return n;
}

static bool wait_for_len(size_t want)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000; i++) { /* up to ~5 s */
		if (sink_len() >= want)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

TEST(reader_thread_pipe)
{
	int in[2], out[2];
	struct term t;
	char buf[16] = { 0 };

	sink_reset();
	REQUIRE(pipe(in) == 0);
	REQUIRE(pipe(out) == 0);
	term_init(&t, in[0], out[1]);
	CHECK(!t.in_is_tty);
	CHECK_EQ(term_start(&t, sink_input, sink_escape, &sink), 0);
	CHECK(t.reader_started);
	CHECK(!t.raw_active);
	CHECK_EQ(write(in[1], "ping\001x", 6), 6);
	CHECK(wait_for_len(6));
	pthread_mutex_lock(&sink.lock);
	CHECK_EQ(memcmp(sink.buf, "ping\001x", 6), 0);
	pthread_mutex_unlock(&sink.lock);

	/* Output goes to the out fd, whole. */
	term_write(&t, (const uint8_t *)"pong\r\n", 6);
	CHECK_EQ(read(out[0], buf, sizeof(buf)), 6);
	CHECK_EQ(memcmp(buf, "pong\r\n", 6), 0);

	/* Stopping joins the reader even though stdin stays open. */
	term_stop(&t);
	CHECK(!t.reader_started);
	CHECK_EQ(t.wake_fd, -1);
	term_stop(&t); /* twice is safe */
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

TEST(reader_thread_eof)
{
	int in[2];
	struct term t;

	sink_reset();
	REQUIRE(pipe(in) == 0);
	term_init(&t, in[0], STDOUT_FILENO);
	CHECK_EQ(term_start(&t, sink_input, sink_escape, &sink), 0);
	CHECK_EQ(write(in[1], "z", 1), 1);
	close(in[1]); /* EOF: the reader ends by itself */
	CHECK(wait_for_len(1));
	term_stop(&t);
	CHECK_EQ(sink_len(), 1);
	close(in[0]);
}

TEST(write_to_closed_pipe)
{
	int dead[2], live[2];
	struct term t;
	char buf[8] = { 0 };

	REQUIRE(pipe(dead) == 0);
	REQUIRE(pipe(live) == 0);
	close(dead[0]);
	term_init(&t, STDIN_FILENO, dead[1]);
	/* EPIPE is dropped (main() ignores SIGPIPE, so do we), no retry loop. */
	signal(SIGPIPE, SIG_IGN);
	term_write(&t, (const uint8_t *)"lost", 4);
	/* The console keeps working once output goes somewhere again. */
	t.out_fd = live[1];
	term_write(&t, (const uint8_t *)"ok", 2);
	CHECK_EQ(read(live[0], buf, sizeof(buf)), 2);
	CHECK_STREQ(buf, "ok");
	close(dead[1]);
	close(live[0]);
	close(live[1]);
}

int main(void)
{
	RUN(plain_bytes);
	RUN(ctrl_a_x_escapes);
	RUN(ctrl_a_l_toggles_link);
	RUN(ctrl_a_passthrough);
	RUN(not_a_tty_no_escapes);
	RUN(stop_when_device_refuses);
	RUN(ctrl_a_help);
	RUN(banner_at_a_terminal);
	RUN(reader_thread_pipe);
	RUN(reader_thread_eof);
	RUN(write_to_closed_pipe);
	return test_summary();
}
