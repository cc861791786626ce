// SPDX-License-Identifier: MIT
/*
 * A module with initial-exec TLS, for t-rseq-dlopen.sh: IE_BYTES of
 * static TLS that its dlopen() must find in the static TLS surplus (its
 * DF_STATIC_TLS), as a library built with initial-exec TLS variables
 * would. The fillers use up the surplus; the control shows that a module
 * like it then fails to load.
 */
#ifndef IE_BYTES
#define IE_BYTES 8
#endif

__thread char ie_tls[IE_BYTES] __attribute__((tls_model("initial-exec")));

char *ie_touch(void)
{
	return ie_tls;
}
