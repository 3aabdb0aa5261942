/* fuzz_ext_edit.c --- libFuzzer: the ext editing path on crafted filesystems
 *
 * The input is a disk (a bare ext2/3/4 filesystem, or one behind a partition
 * table) without its trailing zeros, so that mutations land on metadata; it
 * is written to a memory file, padded with zeros to DISK_MIN, and opened for
 * writing; every ext volume is
 * then personalized as rawkit-clone does it, through the public API: files
 * replaced and created, a directory made, files and trees removed, a new
 * UUID (every metadata checksum rewritten), commit.  Each call may fail;
 * none may crash, leak or hang.
 */
#include "imgfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DISK_MIN (512u << 10) /* the seeds' size (seed.sh) */

static const struct imgfmt_newfile file_0644 = { 0644, 0, 0 };
static const struct imgfmt_newfile dir_0700 = { 0700, 0, 0 };

static void personalize(imgfmt_fs *fs)
{
	static const char *const removed[] = { "/var/lib/dbus/machine-id", "/var/log/syslog", "/var/log/journal",
					       "/tmp/sub", "/etc/ssh/ssh_host_ed25519_key" };
	static const char key[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuzzFuzzFuzz root@fuzz\n";
	char big[5000];

	imgfmt_fs_write_file(fs, "/etc/hostname", "web01\n", 6, &file_0644);
	imgfmt_fs_write_file(fs, "/etc/machine-id", "", 0, NULL);
	memset(big, 'k', sizeof(big)); /* more than one block: a new extent */
	imgfmt_fs_write_file(fs, "/etc/ssh/ssh_host_rsa_key", big, sizeof(big), &file_0644);
	for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++)
		imgfmt_fs_remove(fs, removed[i], 1);
	imgfmt_fs_mkdir(fs, "/root/.ssh", &dir_0700);
	imgfmt_fs_write_file(fs, "/root/.ssh/authorized_keys", key, sizeof(key) - 1, &file_0644);
	imgfmt_fs_remove(fs, "/var/log", 1);
	imgfmt_fs_set_uuid(fs, "0b6f1d2e-3c4a-4b5d-8e6f-7a8b9c0d1e2f");
	imgfmt_fs_commit(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-ext-edit", MFD_CLOEXEC);
	imgfmt_disk *disk = imgfmt_disk_new();
	char path[64];

	if (fd < 0 || !disk || write(fd, data, size) != (ssize_t)size ||
	    (size < DISK_MIN && ftruncate(fd, DISK_MIN) < 0))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (imgfmt_disk_open(disk, path, IMGFMT_OPEN_WRITE) == 0) {
		for (size_t i = 0; i < imgfmt_disk_volume_count(disk); i++) {
			imgfmt_fs *fs = imgfmt_fs_new();
			if (fs && imgfmt_fs_open(fs, disk, i, IMGFMT_FS_WRITE) == 0)
				personalize(fs);
			imgfmt_fs_free(fs);
		}
	}
	imgfmt_disk_free(disk);
	close(fd);
	return 0;
}
