/* fuzz_initrd.c --- the readers of a guest's boot files that driver
 * injection trusts no more than the rest of the guest: an initramfs walked
 * archive by archive (first byte 0: the rest is the file; each entry's
 * data read), and a kernel's modules.dep with the closure of the drivers a
 * conversion asks for (first byte 1).
 */
#include "initrd.h"
#include "moddep.h"

#include <archive.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_all(void *arg, struct archive *a, const struct initrd_entry *e)
{
	char buf[4096], name[64];

	(void)arg;
	(void)initrd_module_name(e->path, name, sizeof(name));
	while (archive_read_data(a, buf, sizeof(buf)) > 0)
		;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0) {
		struct initrd_layout lay;
		char err[400];
		(void)initrd_walk_memory(data + 1, size - 1, read_all, NULL, &lay, err, sizeof(err));
	} else if (data[0] == 1) {
		static const char *const names[] = { "virtio_blk", "virtio-scsi", "virtio_pci", "ahci", "nvme" };
		char *dep = malloc(size), *builtin = strdup("kernel/drivers/nvme/host/nvme.ko\n");
		struct moddep *md;
		const char **files = NULL;
		char err[400];
		if (dep) {
			memcpy(dep, data + 1, size - 1);
			dep[size - 1] = '\0';
		} else
			free(builtin), builtin = NULL;
		if (dep && moddep_parse(dep, builtin, "/lib/modules/6.1.0", &md) == 0) {
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
				(void)moddep_builtin(md, names[i]);
				if (moddep_closure(md, &names[i], 1, &files, err, sizeof(err)) == 0)
					free(files);
			}
			if (moddep_closure(md, names, 5, &files, err, sizeof(err)) == 0)
				free(files);
			moddep_free(md);
		}
	}
	return 0;
}
