# lib.sh --- shared by the benchmarks (sourced): timing, cold cache, ratios
set -euo pipefail
: "${RAWKIT_BIN:?run through make bench, or set RAWKIT_BIN}"
export PATH="$RAWKIT_BIN:$PATH" LC_ALL=C
BENCH_DIR=${BENCH_DIR:-/var/tmp/rawkit-bench}
mkdir -p "$BENCH_DIR"

is_root() { [ "$(id -u)" -eq 0 ]; }

# Drop the page cache so that every run reads from the disk (root only).
cold() {
	sync
	if is_root; then echo 3 >/proc/sys/vm/drop_caches; fi
}

# timed NAME PREP CMD...: REPEAT times (default 3): run PREP (untimed: remove
# the last target), cold cache, run CMD, sync (durability is part of the cost:
# rawkit fsyncs its targets, cp and qemu-img do not).  Keeps the median
# seconds in SECONDS_OF[NAME], the peak RSS in RSS_OF[NAME] and the bytes
# CMD and its children wrote through the filesystems in WRITTEN_OF[NAME]
# (getrusage's ru_oublock: counted when the pages are dirtied, whether they
# go to a file here or to a loop-mounted image).
declare -A SECONDS_OF RSS_OF WRITTEN_OF
REPEAT=${REPEAT:-3}
timed() {
	local name=$1 prep=$2 t0 t1 runs=()
	shift 2
	for _ in $(seq 1 "$REPEAT"); do
		eval "$prep"
		cold
		t0=$(date +%s.%N)
		/usr/bin/time -f '%M %O' -o "$BENCH_DIR/.rss" "$@" >/dev/null 2>"$BENCH_DIR/.err" ||
			{ echo "bench: $name failed:" >&2; cat "$BENCH_DIR/.err" >&2; return 1; }
		sync
		t1=$(date +%s.%N)
		runs+=("$(echo "$t1 - $t0" | bc -l)")
	done
	SECONDS_OF[$name]=$(printf '%s\n' "${runs[@]}" | sort -g | sed -n "$(((REPEAT + 1) / 2))p")
	RSS_OF[$name]=$(tail -n1 "$BENCH_DIR/.rss" | cut -d' ' -f1)
	WRITTEN_OF[$name]=$(($(tail -n1 "$BENCH_DIR/.rss" | cut -d' ' -f2) * 512))
	printf '  %-20s median %7.2f s of %s  (runs:%s)  %7d KiB peak RSS\n' "$name" "${SECONDS_OF[$name]}" "$REPEAT" \
		"$(printf ' %.2f' "${runs[@]}")" "${RSS_OF[$name]}"
}

# ratio A B: how many times longer A took than B
ratio() { echo "scale=2; ${SECONDS_OF[$1]} / ${SECONDS_OF[$2]}" | bc -l; }

human() { numfmt --to=iec-i --suffix=B "$1"; }

# usr_guest_disk IMG SIZE FILES_MIN BYTES_MIN [MKFS_OPTION...]: a guest disk
# (GPT, one ext4 partition of SIZE bytes at 1 MiB) filled with real files
# copied from this machine's /usr, second-level directories at a time,
# until both thresholds are met.  Kept between runs (IMG's .stamp).
usr_guest_disk() {
	local img=$1 size=$2 files_min=$3 bytes_min=$4 stamp=${1%.img}.stamp
	shift 4
	[ -f "$img" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$files_min/$bytes_min/$*" ] && return
	echo "bench: generating $img from /usr (>= $files_min files, >= $bytes_min bytes)"
	rm -f "$img"
	truncate -s $((size + 2 * 1048576)) "$img"
	printf 'label: gpt\nstart=2048, size=%d, type=linux\n' $((size / 512)) | sfdisk -q "$img" >/dev/null
	mkfs.ext4 -q -F -b 4096 "$@" -E offset=1048576 "$img" $((size / 1024))k
	mkdir -p mnt && mount -o loop,offset=1048576 "$img" mnt
	usr_fill mnt "$files_min" "$bytes_min"
	umount mnt
	echo "$files_min/$bytes_min/$*" >"$stamp"
}

# usr_fill DIR FILES_MIN BYTES_MIN: copy this machine's /usr into DIR,
# second-level directories at a time, until both thresholds are met
usr_fill() {
	local dir=$1 files_min=$2 bytes_min=$3 files=0 bytes=0 src
	for src in /usr/share/* /usr/include /usr/lib/x86_64-linux-gnu/* /usr/lib/*; do
		[ "$files" -ge "$files_min" ] && [ "$bytes" -ge "$bytes_min" ] && break
		[ -e "$dir$src" ] && continue
		mkdir -p "$dir$(dirname "$src")"
		cp -a "$src" "$dir$(dirname "$src")/" 2>/dev/null || true
		files=$((files + $(find "$src" -type f 2>/dev/null | wc -l)))
		bytes=$((bytes + $(du -sb "$src" 2>/dev/null | cut -f1)))
	done
}
