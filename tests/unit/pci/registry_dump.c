// SPDX-License-Identifier: BSD-3-Clause
/* Prints the registered drivers: built shared and static, the two lists must
 * match, which proves driver constructors survive static linking. */
#include <stdio.h>

#include "zdk_pci.h"

int main(void)
{
	const struct zdk_pci_driver *d;

	for (d = zdk_pci_driver_next(NULL); d; d = zdk_pci_driver_next(d))
		printf("%s\n", d->name);
	return 0;
}
