/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iommu_private.h - the IOMMU backends behind one small ops table.
 *
 * One struct iommu per process: every device shares its one IOAS (iommufd)
 * or container (type1/noiommu). Backends: iommufd.c (which also serves the
 * no-IOMMU device cdev: an IOAS that pins, and the kernel's physical
 * addresses), type1.c (the container, VFIO's own or iommufd's compat one,
 * and the no-IOMMU group).
 */
#ifndef ZDK_IOMMU_PRIVATE_H
#define ZDK_IOMMU_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#include "rights.h" /* enum memlock_acct */
#include "zdk_iommu.h"

#define IOMMU_MAX_RANGES 32

struct iova_range {
	uint64_t start;
	uint64_t last; /* inclusive */
};

/* What a backend needs to know about a device to attach it. */
struct iommu_dev_info {
	const char *bdf;       /* "dddd:bb:dd.f" */
	int group;             /* IOMMU group number */
	const char *cdev;      /* "vfioN" under /dev/vfio/devices, or NULL */
};

/* A VFIO group open in the container (type1, noiommu). */
struct iommu_group {
	int num;
	int fd;
	unsigned users;
	struct iommu_group *next;
};

/*
 * A set of disjoint ranges [start, start + len), each with three words for
 * its user, ordered by start (extents.c: a treap over one node array,
 * O(log n) per call, no allocation but the array's doubling). Pointers
 * into it are valid until the next insert or remove. The caller locks.
 */
struct extent {
	uint64_t start, len;
	uint64_t a, b, c;       /* the user's */
	uint32_t left, right;   /* children: node indexes, 0 for none */
	uint32_t prio;          /* heap order: random */
};

struct extents {
	struct extent *node;    /* node[0] stands for none */
	uint32_t root, free;    /* free nodes are chained through .left */
	uint32_t n, cap;
	uint32_t seed;
};

int extents_insert(struct extents *t, uint64_t start, uint64_t len, uint64_t a, uint64_t b,
		   uint64_t c);
/* Remove exactly [@start, @start + @len), a copy in *@out (may be NULL). -ENOENT. */
int extents_remove(struct extents *t, uint64_t start, uint64_t len, struct extent *out);
/* The lowest range overlapping [@start, @start + @len), or NULL; @t may be NULL. */
const struct extent *extents_overlap(const struct extents *t, uint64_t start, uint64_t len);
/* The range with the lowest start >= @start, or NULL (iteration: ceil(prev->start + 1)). */
const struct extent *extents_ceil(const struct extents *t, uint64_t start);
void extents_fini(struct extents *t);

struct iommu;

struct iommu_ops {
	const char *name;
	enum zdk_iommu_mode mode;
	int (*open)(struct iommu *io);
	void (*close)(struct iommu *io);
	/* Attach the device; return its VFIO device fd in *fd. */
	int (*dev_attach)(struct iommu *io, const struct iommu_dev_info *info, int *fd);
	void (*dev_detach)(struct iommu *io, const struct iommu_dev_info *info, int fd);
	int (*map)(struct iommu *io, void *va, uint64_t iova, uint64_t len);
	/* Optional: map a file range (iommufd IOMMU_IOAS_MAP_FILE). */
	int (*map_file)(struct iommu *io, int fd, uint64_t off, uint64_t iova, uint64_t len);
	int (*unmap)(struct iommu *io, uint64_t iova, uint64_t len);
	/* Refresh io->ranges (valid once the backend is ready). */
	int (*ranges)(struct iommu *io);
	/*
	 * No-IOMMU through iommufd only: the physical address behind a mapped
	 * @iova, and in *@contig how many bytes from there (up to @len) are
	 * physically contiguous.
	 */
	int (*phys)(struct iommu *io, uint64_t iova, uint64_t len, uint64_t *pa, uint64_t *contig);
};

struct iommu {
	const struct iommu_ops *ops;
	int fd;                 /* /dev/iommu, or the container */
	uint32_t ioas_id;       /* iommufd */
	bool ready;             /* maps possible: type1 needs a group first */
	int map_file;           /* iommufd MAP_FILE: 1 yes, 0 no, -1 untried */
	struct iommu_group *groups;
	unsigned ndevs;
	uint32_t dma_limit;     /* type1 DMA_AVAIL at open, 0 = unknown */
	uint32_t dma_count;     /* type1 mappings made */
	struct iova_range ranges[IOMMU_MAX_RANGES];
	unsigned nranges;
	uint64_t pgsize_mask;   /* supported IOMMU page sizes */
	bool compat;            /* type1: /dev/vfio/vfio is iommufd's compat container */
	struct extents extents; /* IOVA ranges in use outside the backend's own */
	pthread_spinlock_t lock; /* extents: a few hundred instructions at most under it */
	/*
	 * Set by the init orchestrator before any device attaches.
	 * on_attach: after each device attach, once the device's group/IOAS
	 * shapes the IOVA ranges: map what is not mapped yet (the arena, the
	 * zdk_dma_map() regions). A failure undoes the attach.
	 * on_lost: the kernel dropped every mapping (type1: the last group
	 * left the container); the next attach maps everything again.
	 */
	int (*on_attach)(struct iommu *io);
	void (*on_lost)(struct iommu *io);
};

extern const struct iommu_ops iommu_iommufd_ops;
extern const struct iommu_ops iommu_type1_ops;
extern const struct iommu_ops iommu_noiommu_ops;       /* the no-IOMMU group */
extern const struct iommu_ops iommu_noiommu_cdev_ops;  /* the no-IOMMU cdev + iommufd */

/* The process's IOMMU, NULL before init or with no backend. */
extern struct iommu *iommu_g;

enum iommu_request {
	IOMMU_REQ_AUTO = 0,
	IOMMU_REQ_IOMMUFD,
	IOMMU_REQ_TYPE1,
	IOMMU_REQ_NOIOMMU,         /* the cdev where the kernel has it, else the group */
	IOMMU_REQ_NOIOMMU_IOMMUFD,
	IOMMU_REQ_NOIOMMU_GROUP,
};

/* The backend's full name: "type1 (served by iommufd)", "noiommu (iommufd)"... */
const char *iommu_form(const struct iommu *io);

/* Paths, overridable by unit tests. */
struct iommu_env {
	const char *dev_root;   /* "/dev" */
	const char *sys_root;   /* "/sys" */
};
extern struct iommu_env iommu_env;

/*
 * iommu_select() - the backend for @req on this machine.
 * @first: a device to be opened (its cdev decides iommufd), or NULL.
 * @why: a short reason, logged by the caller.
 * Return: the ops, or NULL with *@err set (-ENODEV with the fix logged).
 */
const struct iommu_ops *iommu_select(enum iommu_request req, const struct iommu_dev_info *first,
				     const char **why, int *err);

/*
 * iommu_configure() - set by the init orchestrator before any device opens:
 * the --iommu request, and the hooks of struct iommu (on_attach, on_lost).
 * iommu_get() - the process's backend, created on first use with that
 * request (with "auto" the first device decides, through @info).
 */
void iommu_configure(enum iommu_request req, int (*on_attach)(struct iommu *io),
		     void (*on_lost)(struct iommu *io));
int iommu_get(const struct iommu_dev_info *info, struct iommu **io);

int iommu_create(const struct iommu_ops *ops, struct iommu **io);
void iommu_destroy(struct iommu *io);
int iommu_dev_attach(struct iommu *io, const struct iommu_dev_info *info, int *fd);
void iommu_dev_detach(struct iommu *io, const struct iommu_dev_info *info, int fd);

/* Pure IOVA arithmetic, unit tested (iova.c). @used may be NULL (none). */
bool iova_range_contains(const struct iova_range *r, unsigned n, uint64_t iova, uint64_t len);
int iova_pick(const struct iova_range *r, unsigned n, const struct extents *used,
	      uint64_t want, uint64_t len, uint64_t align, uint64_t *iova);

/* Extents outside the arena, under io->lock. */
int iommu_extent_add(struct iommu *io, uint64_t iova, uint64_t len);
int iommu_extent_del(struct iommu *io, uint64_t iova, uint64_t len);

/* The fd of VFIO group @num in @io's container, or -ENOENT (not ours). */
int iommu_group_fd(const struct iommu *io, int num);

/*
 * Live handover (handover.c). iommu_adopt(): a backend over an iommufd and
 * IOAS another process handed over (not made the process's: the caller sets
 * iommu_g). iommu_release(): let go of them without unmapping or destroying
 * anything. iommufd_change_process(): IOMMU_IOAS_CHANGE_PROCESS on @fd.
 */
int iommu_adopt(int fd, uint32_t ioas_id, struct iommu **io);
void iommu_release(struct iommu *io);
int iommufd_change_process(int fd);

/* Open <dev_root>/@rel read-write; a failure is logged with its fix. */
int iommu_open_node(const char *rel, const char *enoent_fix);


/*
 * Without root (nonroot.c). A privileged launcher may hand the process an
 * open /dev/iommu and device cdevs (--iommufd-fd, --vfio-fd): the iommufd
 * backend then uses them instead of opening paths, and never closes them
 * (they stay the caller's).
 * iommu_handover_set() - record them (@iommufd -1: none; @n device fds for
 *	the BDFs @bdfs). iommu_handover_clear() forgets them.
 * iommu_handover_active() - whether any was handed over: iommufd is then the
 *	backend, whatever /dev shows.
 * iommu_handover_iommufd(), iommu_handover_dev() - the fd, or -1.
 * iommu_fd_close() - close @fd unless it was handed over.
 * iommufd_dev_fd_release() - a device cdev done with: closed, or, handed
 *	over, detached from its IOAS and left open.
 */
int iommu_handover_set(int iommufd, const char *const *bdfs, const int *fds, unsigned n);
void iommu_handover_clear(void);
bool iommu_handover_active(void);
int iommu_handover_iommufd(void);
int iommu_handover_dev(const char *bdf);
bool iommu_handover_is(int fd);
void iommu_fd_close(int fd);
void iommufd_dev_fd_release(int fd);

/* iommu_pin_acct() - who the kernel charges @io's pins to (rights.h). */
enum memlock_acct iommu_pin_acct(const struct iommu *io);

/*
 * iommu_open_fix() - the parenthesis a failed open of @path (for device
 * @bdf, or NULL) ends with: for -EACCES who lacks which right and the
 * command that grants it; "" when there is nothing to add. @buf holds it.
 */
const char *iommu_open_fix(int rc, const char *path, const char *bdf, char *buf, size_t len);

#include "sys.h" /* sys_ioctl(), sys_open(): the only readers of errno */

#endif /* ZDK_IOMMU_PRIVATE_H */
