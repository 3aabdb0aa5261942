#!/bin/bash
# make install (PREFIX, DESTDIR) gives a usable library: header, .pc, .so,
# tools and man pages; a program builds against it with pkg-config.
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

top=$TESTS_DIR/..
root=$SCRATCH/root
# -o all: install what is built, never rebuild under the other tests' feet.
ok "make install DESTDIR=... PREFIX=/usr" \
	make -s -C "$top" -o all install DESTDIR="$root" PREFIX=/usr SANITIZE="${SANITIZE:-}"
for f in usr/bin/rawkit-info usr/include/imgfmt.h usr/lib/libimgfmt.so.0 usr/lib/libimgfmt.a \
	usr/lib/pkgconfig/libimgfmt.pc usr/share/man/man7/rawkit.7 usr/share/man/man1/rawkit-info.1 \
	usr/share/man/man3/libimgfmt.3 usr/share/man/man5/rawkit-lanfree.conf.5 \
	usr/share/doc/rawkit/lanfree.conf.example usr/share/bash-completion/completions/rawkit-lanfree \
	usr/share/bash-completion/completions/rawkit-v2p; do
	ok "installed $f" test -e "$root/$f"
done
is "$(nm -D --defined-only "$root/usr/lib/libimgfmt.so.0" | awk '{ print $3 }' | grep -v '^imgfmt_' | grep -vc '^IMGFMT_')" 0 \
	"the shared library exports the public API only"
# The static library too: nothing a program could collide with (ext_fail,
# ...), and no internal imgfmt_* helper either.
is "$(nm -g --defined-only "$root/usr/lib/libimgfmt.a" | awk 'NF == 3 { print $3 }' | grep -vc '^imgfmt_')" 0 \
	"the static library defines no global symbol outside imgfmt_*"
sed -n 's/.*\<\(imgfmt_[a-z0-9_]*\)(.*/\1/p' "$root/usr/include/imgfmt.h" | sort -u >public
is "$(nm -g --defined-only "$root/usr/lib/libimgfmt.a" | awk 'NF == 3 { print $3 }' | sort | comm -23 - public)" "" \
	"and its globals are all declared in imgfmt.h"
is "$(nm -D --defined-only "$root/usr/lib/libimgfmt.so.0" | awk '$3 ~ /^imgfmt_/ { sub(/@.*/, "", $3); print $3 }' | sort | comm -23 - public)" "" \
	"the shared library exports nothing imgfmt.h does not declare (libimgfmt.sym's wildcards)"

# bash completion, as installed, from the installed tools' own --help
comp() { # WORDS...: what completing the last word offers
	PATH="$root/usr/bin:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _rawkit "$1"; echo "${COMPREPLY[*]}"' \
		sh "$root/usr/share/bash-completion/completions/rawkit-lanfree" "$@"
}
is "$(comp rawkit-lanfree pr)" "prune" "completion: a command"
is "$(comp rawkit-lanfree prune --keep-w)" "--keep-weekly --keep-within" "completion: a command's options"
is "$(comp rawkit-lanfree backup --level "")" "full incr diff" "completion: an option's values"
is "$(comp rawkit-info --js)" "--json" "completion: a tool without commands"

cat >prog.c <<'C'
#include <imgfmt.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	imgfmt_disk *d = imgfmt_disk_new();
	if (imgfmt_disk_open(d, argv[1], 0) < 0) {
		fprintf(stderr, "%s\n", imgfmt_disk_error(d));
		return 1;
	}
	printf("%s %zu\n", imgfmt_disk_label(d), imgfmt_disk_volume_count(d));
	imgfmt_disk_free(d);
	return argc - 2;
}
C
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$root/usr/lib/pkgconfig
ok "a program builds with pkg-config --cflags --libs libimgfmt" \
	sh -c "cc -o prog prog.c \$(pkg-config --cflags --libs libimgfmt) ${SANITIZE:+-fsanitize=address,undefined}"
mkdisk d.img 16M <<'S'
label: dos
start=2048, size=8M, type=83
S
is "$(LD_LIBRARY_PATH=$root/usr/lib ./prog d.img)" "dos 1" "and it reads a disk through the installed library"

# The library's files call each other one way: no two objects each use a
# symbol the other defines (fs_ext.c and fs_ext_edit.c once did).
build=$top/build
[ "${SANITIZE:-}" = 1 ] && build=$top/build-san
is "$(nm -A -P "$build"/lib/imgfmt/*.o | awk '{
	f = $1; sub(/:$/, "", f); sub(/.*\//, "", f)
	if ($3 == "U") use[f, $2] = 1; else if ($3 ~ /^[TDBR]$/) def[$2] = f
} END {
	for (k in use) { split(k, a, SUBSEP); if ((a[2] in def) && def[a[2]] != a[1]) dep[a[1], def[a[2]]] = 1 }
	for (k in dep) { split(k, a, SUBSEP); if (((a[2], a[1]) in dep) && a[1] < a[2]) print a[1], a[2] }
}')" "" "no two files of libimgfmt call each other"

# libimgfmt(3) documents the whole public API.
undocumented=$(sed -n 's/.*\<\(imgfmt_[a-z0-9_]*\)(.*/\1/p' "$root/usr/include/imgfmt.h" | sort -u |
	while read -r f; do grep -q "\\<$f\\>" "$root/usr/share/man/man3/libimgfmt.3" || echo "$f"; done)
is "$undocumented" "" "every function in imgfmt.h is named in libimgfmt(3)"
if command -v groff >/dev/null; then
	is "$(groff -man -ww -z "$root/usr/share/man/man3/libimgfmt.3" 2>&1)" "" "libimgfmt(3) renders without warnings"
fi

# One error convention: every handle is made by _new(), opened by _open()
# and keeps the message of its own last failure (the disk is not told).
cat >errs.c <<'C'
#include <imgfmt.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	imgfmt_disk *d = imgfmt_disk_new();
	imgfmt_fs *fs = imgfmt_fs_new();
	imgfmt_output *out = imgfmt_output_new();
	struct imgfmt_stat st;
	int rc;

	if (argc != 2 || !d || !fs || !out || imgfmt_disk_open(d, argv[1], 0) < 0)
		return 1;
	rc = imgfmt_fs_open(fs, d, 0, 0);
	printf("fs_open %d [%s] disk [%s]\n", rc < 0, imgfmt_fs_error(fs), imgfmt_disk_error(d));
	rc = imgfmt_fs_stat(fs, 2, &st);
	printf("fs_stat %d [%s]\n", rc, imgfmt_fs_error(fs));
	rc = imgfmt_output_open(out, argv[1], 1 << 20, 0);
	printf("output_open %d [%s]\n", rc, imgfmt_output_error(out));
	imgfmt_output_free(out);
	imgfmt_fs_free(fs);
	imgfmt_disk_free(d);
	return 0;
}
C
ok "a program uses the new/open/free handles" \
	sh -c "cc -o errs errs.c \$(pkg-config --cflags --libs libimgfmt) ${SANITIZE:+-fsanitize=address,undefined}"
LD_LIBRARY_PATH=$root/usr/lib ./errs d.img >errs.txt
like "$(sed -n 1p errs.txt)" '^fs_open 1 \[p1: no filesystem rawkit can read.*\] disk \[\]$' \
	"a filesystem that cannot be opened says why on its own handle, not on the disk"
is "$(sed -n 2p errs.txt)" "fs_stat -9 [the filesystem is not open]" "a call on an unopened filesystem is -EBADF"
is "$(sed -n 3p errs.txt)" "output_open -17 [target exists (use --overwrite to replace it)]" \
	"an output that cannot be opened says why on its own handle"

# The version lives in VERSION only: the library, the .pc, the tools and
# the man pages all say the same.
version=$(cat "$top/VERSION")
cat >ver.c <<'C'
#include <imgfmt.h>
#include <stdio.h>
int main(void)
{
	puts(imgfmt_version());
	return 0;
}
C
ok "a program calls imgfmt_version()" \
	sh -c "cc -o ver ver.c \$(pkg-config --cflags --libs libimgfmt) ${SANITIZE:+-fsanitize=address,undefined}"
is "$(LD_LIBRARY_PATH=$root/usr/lib ./ver)" "$version" "imgfmt_version() is the VERSION file's"
is "$(pkg-config --modversion libimgfmt)" "$version" "so is libimgfmt.pc's"
is "$("$root/usr/bin/rawkit-info" --version)" "rawkit-info $version" "so is rawkit-info --version's"
is "$(grep -l '@VERSION@' "$root"/usr/share/man/man*/* | wc -l)" 0 "the installed man pages name the version"
is "$(sed -n '1s/.*"rawkit \([^"]*\)".*/\1/p' "$root/usr/share/man/man7/rawkit.7")" "$version" \
	"rawkit(7)'s footer is the VERSION file's"

done_testing
