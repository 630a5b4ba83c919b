/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>

#include "launch.h"

int main(int argc, char **argv)
{
	return launch_main(argc, argv, stdout, stderr);
}
