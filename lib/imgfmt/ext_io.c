/* ext_io.c --- a libext2fs io_manager that reads one volume of an imgfmt disk
 *
 * libext2fs opens devices by name through an io_manager.  This one serves
 * the byte range of a volume from an already open imgfmt_disk, refusing any
 * access outside it, so a crafted filesystem cannot make libext2fs read
 * past its partition.  ext2fs_open2() passes only a name to the manager's
 * open(), so the volume to serve is handed over in a thread-local slot just
 * before the call (imgfmt_ext_io_prepare()).
 */
#include "imgfmt_private.h"
#include "ext_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ext_io {
	imgfmt_disk *disk;
	size_t index;          /* volume of DISK */
	uint64_t size;
	const struct ext_overlay *overlay;
	struct struct_io_stats stats;
};

static _Thread_local struct ext_io pending;

void imgfmt_ext_io_prepare(imgfmt_disk *disk, size_t index, uint64_t size, const struct ext_overlay *overlay)
{
	pending.disk = disk;
	pending.index = index;
	pending.size = size;
	pending.overlay = overlay;
}

static errcode_t eio_open(const char *name, int flags, io_channel *channel)
{
	struct ext_io *priv = NULL;
	io_channel ch = NULL;
	errcode_t err;

	if (!pending.disk)
		return EXT2_ET_BAD_DEVICE_NAME;
	if ((flags & IO_FLAG_RW) && (!pending.disk->writable || pending.overlay))
		return EROFS;
	err = ext2fs_get_memzero(sizeof(*ch), &ch);
	if (!err)
		err = ext2fs_get_memzero(sizeof(*priv), &priv);
	if (!err)
		err = ext2fs_get_mem(strlen(name) + 1, &ch->name);
	if (err) {
		if (ch)
			ext2fs_free_mem(&ch);
		if (priv)
			ext2fs_free_mem(&priv);
		return err;
	}
	strcpy(ch->name, name);
	*priv = pending;
	memset(&pending, 0, sizeof(pending));
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = imgfmt_ext_io_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->flags = flags;
	ch->private_data = priv;
	*channel = ch;
	return 0;
}

static errcode_t eio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	ext2fs_free_mem(&ch->private_data);
	ext2fs_free_mem(&ch->name);
	ext2fs_free_mem(&ch);
	return 0;
}

static errcode_t eio_set_blksize(io_channel ch, int blksize)
{
	ch->block_size = blksize;
	return 0;
}

/* Byte range of COUNT blocks at BLOCK (negative COUNT: bytes); 0 if inside. */
static errcode_t eio_range(io_channel ch, unsigned long long block, int count, uint64_t *off, size_t *len)
{
	struct ext_io *priv = ch->private_data;
	uint64_t bs = (uint64_t)ch->block_size;

	*len = count < 0 ? (size_t)-(long)count : (size_t)count * bs;
	if (block > priv->size / bs)
		return EXT2_ET_LLSEEK_FAILED;
	*off = block * bs;
	if (*len > priv->size - *off)
		return EXT2_ET_SHORT_READ;
	return 0;
}

static errcode_t eio_read_blk64(io_channel ch, unsigned long long block, int count, void *data)
{
	struct ext_io *priv = ch->private_data;
	uint64_t off;
	size_t len;
	errcode_t err = eio_range(ch, block, count, &off, &len);

	if (!err && imgfmt_volume_pread(priv->disk, priv->index, data, len, off) < 0)
		err = EXT2_ET_SHORT_READ;
	if (!err && priv->overlay && imgfmt_ext_overlay_patch(priv->overlay, data, len, off) < 0)
		err = EXT2_ET_SHORT_READ;
	if (err) {
		memset(data, 0, len);
		if (ch->read_error)
			return ch->read_error(ch, (unsigned long)block, count, data, len, 0, err);
		return err;
	}
	__atomic_add_fetch(&priv->stats.bytes_read, len, __ATOMIC_RELAXED); /* the UUID rewrite reads from threads */
	return 0;
}

static errcode_t eio_read_blk(io_channel ch, unsigned long block, int count, void *data)
{
	return eio_read_blk64(ch, block, count, data);
}

static errcode_t eio_write_blk64(io_channel ch, unsigned long long block, int count, const void *data)
{
	struct ext_io *priv = ch->private_data;
	uint64_t off;
	size_t len;
	errcode_t err;
	int rc;

	if (!(ch->flags & IO_FLAG_RW))
		return EROFS;
	err = eio_range(ch, block, count, &off, &len);
	if (err)
		return err == EXT2_ET_SHORT_READ ? EXT2_ET_SHORT_WRITE : err;
	rc = imgfmt_volume_pwrite(priv->disk, priv->index, data, len, off);
	if (rc < 0) {
		err = rc == -EIO ? EXT2_ET_SHORT_WRITE : (errcode_t)-rc;
		if (ch->write_error)
			return ch->write_error(ch, (unsigned long)block, count, data, len, 0, err);
		return err;
	}
	__atomic_add_fetch(&priv->stats.bytes_written, len, __ATOMIC_RELAXED);
	return 0;
}

static errcode_t eio_write_blk(io_channel ch, unsigned long block, int count, const void *data)
{
	return eio_write_blk64(ch, block, count, data);
}

static errcode_t eio_flush(io_channel ch)
{
	struct ext_io *priv = ch->private_data;

	if ((ch->flags & IO_FLAG_RW) && fdatasync(priv->disk->fd) < 0)
		return (errcode_t)errno;
	return 0;
}

static errcode_t eio_set_option(io_channel ch, const char *option, const char *arg)
{
	(void)ch;
	(void)option;
	(void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t eio_get_stats(io_channel ch, io_stats *stats)
{
	struct ext_io *priv = ch->private_data;

	priv->stats.num_fields = 2;
	*stats = &priv->stats;
	return 0;
}

static struct struct_io_manager ext_io_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "imgfmt volume I/O",
	.open = eio_open,
	.close = eio_close,
	.set_blksize = eio_set_blksize,
	.read_blk = eio_read_blk,
	.write_blk = eio_write_blk,
	.flush = eio_flush,
	.set_option = eio_set_option,
	.get_stats = eio_get_stats,
	.read_blk64 = eio_read_blk64,
	.write_blk64 = eio_write_blk64,
};

io_manager imgfmt_ext_io_manager = &ext_io_manager;
