/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * host_probe.c - what the machine offers zdk, read from sysfs, /dev and
 * /proc: an IOMMU, VFIO's no-IOMMU mode, iommufd, hugepage pools and
 * hugetlbfs mounts. zdk-doctor reports them; every root can be a fake tree.
 */
#define ZDK_LOG_COMPONENT "host"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_probe.h"
#include "sys.h"
#include "zdk_log.h"

static int dir_nonempty(const char *root, const char *dir)
{
	char path[PATH_MAX];
	struct dirent **ents;
	int n;

	if (sysfs_path(path, root, "%s", dir) || (n = sysfs_dir_list(path, &ents)) <= 0)
		return 0;
	sysfs_dir_free(ents, n);
	return 1;
}

int host_iommu_present(const struct pci_sysfs *fs)
{
	if (dir_nonempty(sysfs_root_sys(fs), "class/iommu"))
		return 1;
	/* No-IOMMU mode makes groups too, for the devices bound to vfio-pci. */
	return dir_nonempty(sysfs_root_sys(fs), "kernel/iommu_groups") &&
	       host_noiommu_enabled(fs) != 1;
}

int host_noiommu_enabled(const struct pci_sysfs *fs)
{
	char path[PATH_MAX], buf[8];
	int rc;

	rc = sysfs_path(path, sysfs_root_sys(fs), "module/vfio/parameters/enable_unsafe_noiommu_mode");
	if (rc == 0)
		rc = sysfs_read_str(path, buf, sizeof(buf));
	if (rc < 0)
		return rc;
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

int host_iommufd_present(const struct pci_sysfs *fs)
{
	char path[PATH_MAX];

	return sysfs_path(path, sysfs_root_dev(fs), "iommu") == 0 && sysfs_exists(path);
}

/* Append the pools of one hugepages directory; -ENOMEM on failure. */
static int pools_add(const char *root, const char *dir, int node,
		     struct host_hugepages **pools, int *count)
{
	char path[PATH_MAX], buf[32];
	struct dirent **ents;
	int n, rc = 0;

	if (sysfs_path(path, root, "%s", dir) || (n = sysfs_dir_list(path, &ents)) <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		struct host_hugepages *p, *grown;
		unsigned long kb;

		if (sscanf(ents[i]->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		grown = realloc(*pools, (size_t)(*count + 1) * sizeof(**pools));
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		*pools = grown;
		p = &grown[(*count)++];
		p->node = node;
		p->size = (uint64_t)kb << 10;
		p->nr = p->free = 0;
		if (sysfs_path(path, root, "%s/%s/nr_hugepages", dir, ents[i]->d_name) == 0 &&
		    sysfs_read_str(path, buf, sizeof(buf)) > 0)
			p->nr = strtoul(buf, NULL, 10);
		if (sysfs_path(path, root, "%s/%s/free_hugepages", dir, ents[i]->d_name) == 0 &&
		    sysfs_read_str(path, buf, sizeof(buf)) > 0)
			p->free = strtoul(buf, NULL, 10);
	}
	sysfs_dir_free(ents, n);
	return rc;
}

int host_hugepages_read(const struct pci_sysfs *fs,
				 struct host_hugepages **pools)
{
	char path[PATH_MAX], dir[64];
	struct dirent **ents;
	int n, node, count = 0, rc;

	*pools = NULL;
	rc = pools_add(sysfs_root_sys(fs), "kernel/mm/hugepages", -1, pools, &count);
	if (rc == 0 && sysfs_path(path, sysfs_root_sys(fs), "devices/system/node") == 0 &&
	    (n = sysfs_dir_list(path, &ents)) > 0) {
		for (int i = 0; i < n && rc == 0; i++) {
			if (sscanf(ents[i]->d_name, "node%d", &node) != 1)
				continue;
			snprintf(dir, sizeof(dir), "devices/system/node/node%d/hugepages", node);
			rc = pools_add(sysfs_root_sys(fs), dir, node, pools, &count);
		}
		sysfs_dir_free(ents, n);
	}
	if (rc) {
		free(*pools);
		*pools = NULL;
		return rc;
	}
	return count;
}

/* "2M", "1G", "2048k" in bytes; 0 when it does not parse. */
static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': return v << 10;
	case 'm': case 'M': return v << 20;
	case 'g': case 'G': return v << 30;
	case '\0': case ',': case ' ': return v;
	default: return 0;
	}
}

static uint64_t default_hugepage_size(const struct pci_sysfs *fs)
{
	char path[PATH_MAX], line[256];
	unsigned long kb = 0;
	FILE *f;

	if (sysfs_path(path, sysfs_root_proc(fs), "meminfo") || !(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb << 10;
}

/* Undo /proc/mounts' octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

int host_hugetlbfs_mounts(const struct pci_sysfs *fs,
				   struct host_mount **mounts)
{
	char path[PATH_MAX], line[1024], dir[512], type[64], opts[512];
	int count = 0, rc = 0;
	const char *ps;
	FILE *f;

	*mounts = NULL;
	rc = sysfs_path(path, sysfs_root_proc(fs), "mounts");
	if (rc)
		return rc;
	rc = sys_fopen(path, "re", &f);
	if (rc)
		return rc;
	while (fgets(line, sizeof(line), f)) {
		struct host_mount *m;

		if (sscanf(line, "%*s %511s %63s %511s", dir, type, opts) != 3 ||
		    strcmp(type, "hugetlbfs"))
			continue;
		m = realloc(*mounts, (size_t)(count + 1) * sizeof(*m));
		if (!m) {
			rc = -ENOMEM;
			break;
		}
		*mounts = m;
		m = &m[count++];
		unescape(dir);
		sysfs_str_copy(m->path, sizeof(m->path), dir);
		ps = strstr(opts, "pagesize=");
		m->pagesize = ps ? parse_size(ps + 9) : default_hugepage_size(fs);
	}
	fclose(f);
	if (rc) {
		free(*mounts);
		*mounts = NULL;
		return rc;
	}
	return count;
}
