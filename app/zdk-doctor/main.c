/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>

#include "doctor.h"

int main(int argc, char **argv)
{
	return doctor_main(argc, argv, stdout);
}
