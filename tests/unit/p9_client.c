// SPDX-License-Identifier: GPL-2.0
/* PLACEHOLDER: implemented by the p9-core helper. */
#include "p9_client.h"
