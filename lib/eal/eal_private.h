/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ZDK_EAL_PRIVATE_H
#define ZDK_EAL_PRIVATE_H

void eal_tsc_calibrate(void);

#endif
