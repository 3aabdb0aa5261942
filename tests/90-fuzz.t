#!/bin/bash
# The libFuzzer targets run clean for a bounded time: 3 s each in make check,
# 30 s in make check-long (make fuzz runs longer).
. "$(dirname "$0")/lib/tap.sh"
. "$(dirname "$0")/lib/fixtures.sh"

: "${RAWKIT_FUZZ_BIN:?make check sets RAWKIT_FUZZ_BIN}"
seconds=${RAWKIT_FUZZ_SECONDS:-3}
for target in "$RAWKIT_FUZZ_BIN"/fuzz_*; do
	[ -x "$target" ] || continue
	name=$(basename "$target")
	mkdir -p "corpus-$name"
	ok "$name: seed corpus built" "$TESTS_DIR/fuzz/seed.sh" "$name" "corpus-$name"
	ok "$name: $seconds s of fuzzing without a crash, leak or hang" \
		"$target" -max_total_time="$seconds" -max_len=4194304 -timeout=20 -rss_limit_mb=2048 "corpus-$name"
done
[ "$_tap_n" -gt 0 ] || ok "fuzz targets were built" false
done_testing
