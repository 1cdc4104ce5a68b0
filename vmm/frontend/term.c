// SPDX-License-Identifier: GPL-2.0
#include "lkvm/term.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/thread.h"
#include "lkvm/util.h"

#define CTRL_A 0x01

/*
 * The saved terminal mode is process-wide (there is one controlling
 * terminal), so it lives here rather than in struct vm: the atexit hook
 * must find it even when a VM is half torn down.
 */
static struct termios saved_termios;
static int saved_fd = -1;

void term_restore_saved(void)
{
	if (saved_fd >= 0) {
		tcsetattr(saved_fd, TCSAFLUSH, &saved_termios);
		saved_fd = -1;
	}
}

void term_init(struct term *t, int in_fd, int out_fd)
{
	memset(t, 0, sizeof(*t));
	t->in_fd = in_fd;
	t->out_fd = out_fd;
	t->msg_fd = STDERR_FILENO;
	t->wake_fd = -1;
	t->in_is_tty = isatty(in_fd);
	pthread_mutex_init(&t->scan_lock, NULL);
}

static int term_enter_raw(struct term *t)
{
	struct termios raw;
	static bool atexit_done;

	if (tcgetattr(t->in_fd, &saved_termios) < 0)
		return -errno;
	saved_fd = t->in_fd;
	if (!atexit_done) {
		atexit(term_restore_saved);
		atexit_done = true;
	}
	raw = saved_termios;
	cfmakeraw(&raw);
	/* Keep output post-processing off too: the guest sends CR LF itself. */
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(t->in_fd, TCSANOW, &raw) < 0) {
		saved_fd = -1;
		return -errno;
	}
	t->raw_active = true;
	return 0;
}

void term_handle_input_byte(struct term *t, uint8_t c, bool *stop)
{
	*stop = false;
	if (t->saw_ctrl_a) {
		t->saw_ctrl_a = false;
		if (c == 'x' || c == 'X' || c == 'l' || c == 'L') {
			if (t->escape)
				t->escape(t->opaque, (uint8_t)(c | 0x20));
			return;
		}
		if (c == '?' || c == 'h' || c == 'H') {
			/* CR LF: the terminal is in raw mode. */
			(void)write_all(t->msg_fd, TERM_HELP, strlen(TERM_HELP));
			return;
		}
		if (c != CTRL_A && !t->input(t->opaque, CTRL_A)) {
			*stop = true;
			return;
		}
	} else if (c == CTRL_A && t->in_is_tty) {
		/* Escapes only make sense for a human at a terminal. */
		t->saw_ctrl_a = true;
		return;
	}
	if (!t->input(t->opaque, c))
		*stop = true;
}

static void *term_reader(void *arg)
{
	struct term *t = arg;
	uint8_t buf[256];

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = t->in_fd, .events = POLLIN },
			{ .fd = t->wake_fd, .events = POLLIN },
		};
		ssize_t n, i;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(t->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* EOF: the guest simply gets no more input */
		for (i = 0; i < n; i++) {
			bool stop;
			term_handle_input_byte(t, buf[i], &stop);
			if (stop)
				return NULL;
		}
	}
	return NULL;
}

int term_start(struct term *t, term_input_fn input, term_escape_fn escape,
	       void *opaque)
{
	int err;

	t->input = input;
	t->escape = escape;
	t->opaque = opaque;
	t->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (t->wake_fd < 0)
		return -errno;
	if (t->in_is_tty) {
		/* Before raw mode, so a plain \n ends the line. */
		if (!t->quiet)
			(void)write_all(t->msg_fd, TERM_BANNER,
					strlen(TERM_BANNER));
		err = term_enter_raw(t);
		if (err)
			pr_warn("cannot put the terminal in raw mode: %s",
				strerror(-err));
	}
	err = pthread_create(&t->reader, lkvm_thread_attr(), term_reader, t);
	if (err) {
		term_stop(t);
		return -err;
	}
	t->reader_started = true;
	return 0;
}

void term_stop(struct term *t)
{
	if (t->reader_started) {
		uint64_t one = 1;
		(void)!write(t->wake_fd, &one, sizeof(one));
		pthread_join(t->reader, NULL);
		t->reader_started = false;
	}
	if (t->wake_fd >= 0) {
		close(t->wake_fd);
		t->wake_fd = -1;
	}
	if (t->raw_active) {
		term_restore_saved();
		t->raw_active = false;
	}
}

void term_write(struct term *t, const uint8_t *buf, size_t len)
{
	/* A closed stdout (EPIPE) must not stop the guest: drop the output. */
	(void)write_all(t->out_fd, buf, len);
	if (t->trace) {
		pthread_mutex_lock(&t->scan_lock);
		trace_console(t->trace, &t->scan, buf, len);
		pthread_mutex_unlock(&t->scan_lock);
	}
}
