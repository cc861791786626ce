// SPDX-License-Identifier: MIT
/* bench startup: the program that does nothing, spawned with each library. */
int main(void)
{
	return 0;
}
