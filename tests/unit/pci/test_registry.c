// SPDX-License-Identifier: BSD-3-Clause
/* The PCI driver registry: registration order, duplicates, ID matching. */
#include "../zdk_test.h"

#include "../../../lib/pci/registry.c"

static int probe_ok(struct zdk_pci_device *dev)
{
	return 0;
}

static const struct zdk_pci_id nvme_ids[] = { ZDK_PCI_CLASS(0x010802), { 0 } };
static const struct zdk_pci_id any_ids[] = { ZDK_PCI_DEVICE(0x1af4, ZDK_PCI_ANY_ID), { 0 } };
static struct zdk_pci_driver nvme_drv = { .name = "nvme", .id_table = nvme_ids, .probe = probe_ok };
static struct zdk_pci_driver any_drv = { .name = "any", .id_table = any_ids, .probe = probe_ok };

/* Registered by constructor, as a driver does; runs before main(). */
ZDK_PCI_DRIVER_REGISTER(nvme_drv)

static void test_constructor(void)
{
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_next(NULL), &nvme_drv);
}

static void test_order_and_duplicates(void)
{
	zdk_pci_driver_register(&any_drv);
	zdk_pci_driver_register(&any_drv);
	zdk_pci_driver_register(&nvme_drv);
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_next(NULL), &nvme_drv);
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_next(&nvme_drv), &any_drv);
	CU_ASSERT_PTR_NULL(zdk_pci_driver_next(&any_drv));
}

static void test_match(void)
{
	/* NVMe by class, whatever the vendor: QEMU's, an Intel drive, an unknown one */
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_match(0x1b36, 0x0010, 0x010802), &nvme_drv);
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_match(0x8086, 0x5845, 0x010802), &nvme_drv);
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_match(0x144d, 0xa808, 0x010802), &nvme_drv);
	/* another mass-storage interface is not NVMe */
	CU_ASSERT_PTR_NULL(zdk_pci_driver_match(0x1b36, 0x0010, 0x010601));
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_match(0x1af4, 0x1041, 0x020000), &any_drv);
	CU_ASSERT_PTR_EQUAL(zdk_pci_driver_match(0x1af4, 0x1000, 0x020000), &any_drv);
	CU_ASSERT_PTR_NULL(zdk_pci_driver_match(0x1b36, 0x0011, 0x020000));
	CU_ASSERT_PTR_NULL(zdk_pci_driver_match(0x8086, 0x10c9, 0x020000));
	CU_ASSERT_PTR_NULL(zdk_pci_driver_match(0, 0, 0));
}

static const struct zdk_test tests[] = {
	{ "constructor registration", test_constructor },
	{ "order and duplicates", test_order_and_duplicates },
	{ "matching", test_match },
	{ NULL, NULL },
};

int main(void)
{
	return zdk_test_run("pci registry", NULL, NULL, tests);
}
