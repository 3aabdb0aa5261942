/* container.c --- recognise another virtual-disk format by its magic, to refuse it by name
 *
 * rawkit reads raw disks only: a qcow2 or vmdk file read as raw bytes gives a
 * disk of odd size with "no filesystem signature", and a backup of it would
 * succeed with nothing in it.  These checks only name the format in the
 * refusal; nothing in the header is used or followed.  Each check asks for
 * more than a magic number (consistent header fields, or a checksum) so that
 * a raw disk whose sector 0 happens to start with a magic stays raw.
 */
#include "imgfmt_private.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static bool read_at(int fd, void *buf, size_t len, uint64_t off, uint64_t size)
{
	return off <= size && len <= size - off && pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* qcow2: magic, version 2/3, a sane cluster size, and the refcount table
 * (which every qcow2 has) at a non-zero, cluster-aligned offset. */
static bool is_qcow2(const unsigned char *h)
{
	uint32_t version = be32(h + 4), cluster_bits = be32(h + 20);
	uint64_t l1 = be64(h + 40), refcount = be64(h + 48), mask;

	if (memcmp(h, "QFI\xfb", 4) || (version != 2 && version != 3) || cluster_bits < 9 || cluster_bits > 21)
		return false;
	mask = ((uint64_t)1 << cluster_bits) - 1;
	return refcount != 0 && !(refcount & mask) && !(l1 & mask) && be32(h + 56) != 0;
}

/* VHD footer (512 bytes): "conectix", format version 1.0, and its checksum
 * (one's complement of the byte sum, the checksum field left out). */
static bool is_vhd_footer(const unsigned char *f)
{
	uint32_t sum = 0;

	if (memcmp(f, "conectix", 8) || be32(f + 12) != 0x00010000)
		return false;
	for (size_t i = 0; i < 512; i++)
		if (i < 64 || i >= 68)
			sum += f[i];
	return ~sum == be32(f + 64);
}

const char *imgfmt_container_format(int fd, uint64_t size)
{
	unsigned char h[512], tail[512];

	size_t n = size < sizeof(h) ? (size_t)size : sizeof(h);

	/* a vmdk text descriptor can be shorter than a sector */
	memset(h, 0, sizeof(h));
	if (n < 32 || pread(fd, h, n, 0) != (ssize_t)n)
		return NULL;
	if (is_qcow2(h))
		return "qcow2";
	if (!memcmp(h, "KDMV", 4) && le32(h + 4) >= 1 && le32(h + 4) <= 3)
		return "vmdk";
	if (!memcmp(h, "# Disk DescriptorFile", 21))
		return "vmdk";
	if (!memcmp(h, "<<< ", 4) && le32(h + 0x40) == 0xbeda107fu)
		return "vdi";
	if (!memcmp(h, "vhdxfile", 8) && read_at(fd, tail, 4, 65536, size) && !memcmp(tail, "head", 4))
		return "vhdx";
	if (n < 512)
		return NULL;
	if (is_vhd_footer(h) || (read_at(fd, tail, 512, size - 512, size) && is_vhd_footer(tail)))
		return "vhd";
	return NULL;
}
