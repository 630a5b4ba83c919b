/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci_addr.c - PCI addresses ("dddd:bb:dd.f") to and from text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zdk_pci.h"

/* Read at least one and at most @max hex digits; the value must be <= @lim. */
static const char *parse_hex(const char *s, int max, unsigned lim, unsigned *v)
{
	int n = 0;

	*v = 0;
	for (; n < max; n++, s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		*v = *v * 16 + d;
	}
	if (n == 0 || *v > lim)
		return NULL;
	return s;
}

int zdk_pci_addr_parse(const char *s, struct zdk_pci_addr *addr)
{
	unsigned domain = 0, bus, dev, func;
	const char *p;

	if (!s || !addr)
		return -EINVAL;
	/* Two colons: the first field is the domain; one colon: it is the bus. */
	if (strchr(s, ':') != strrchr(s, ':')) {
		p = parse_hex(s, 4, 0xffff, &domain);
		if (!p || *p != ':')
			return -EINVAL;
		s = p + 1;
	}
	p = parse_hex(s, 2, 0xff, &bus);
	if (!p || *p != ':')
		return -EINVAL;
	p = parse_hex(p + 1, 2, 0x1f, &dev);
	if (!p || *p != '.')
		return -EINVAL;
	p = parse_hex(p + 1, 1, 7, &func);
	if (!p || *p)
		return -EINVAL;
	addr->domain = (uint16_t)domain;
	addr->bus = (uint8_t)bus;
	addr->dev = (uint8_t)dev;
	addr->func = (uint8_t)func;
	return 0;
}

void zdk_pci_addr_format(const struct zdk_pci_addr *addr, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%x", addr->domain, addr->bus, addr->dev, addr->func);
}

static uint32_t addr_key(const struct zdk_pci_addr *a)
{
	return (uint32_t)a->domain << 16 | (uint32_t)a->bus << 8 | (uint32_t)a->dev << 3 | a->func;
}

int zdk_pci_addr_cmp(const struct zdk_pci_addr *a, const struct zdk_pci_addr *b)
{
	uint32_t ka = addr_key(a), kb = addr_key(b);

	return ka < kb ? -1 : ka > kb;
}
