// SPDX-License-Identifier: MIT
/*
 * bench startup: the empty shared library, the baseline that every other
 * load is compared with (one symbol, since C wants a declaration).
 */
int mbbench_startup_empty;
