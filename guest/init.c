// SPDX-License-Identifier: GPL-2.0
/* PLACEHOLDER: replaced by the sandbox helper. */
int main(void)
{
	return 0;
}
