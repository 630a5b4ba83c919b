/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>

#include "devbind.h"

int main(int argc, char **argv)
{
	return devbind_main(argc, argv, stdout, stderr);
}
