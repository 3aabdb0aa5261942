# tap.sh --- a small TAP producer for rawkit's shell tests (sourced)
#
#   ok DESC CMD...        pass when CMD exits 0
#   fails DESC CMD...     pass when CMD exits non-zero (and did not crash)
#   is GOT WANT DESC      pass when the strings are equal
#   like GOT REGEX DESC   pass when GOT matches the extended regex
#   skip N REASON         N tests skipped
#   skip_all REASON       the whole file is skipped
#   done_testing          print the plan; exit 1 if anything failed
set -u
_tap_n=0
_tap_failed=0

_tap_result() { # STATUS DESC
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_failed=$((_tap_failed + 1))
	fi
}

diag() { printf '# %s\n' "$*" | sed '2,$s/^/# /' >&2; }

ok() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		_tap_result 0 "$desc"
	else
		_tap_result 1 "$desc"
		diag "command failed: $*" "$out"
	fi
}

fails() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]; then
		_tap_result 0 "$desc"
	else
		_tap_result 1 "$desc"
		diag "expected a clean failure, got exit $rc: $*" "$out"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "got:  '$1'" "want: '$2'"
	fi
}

like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "got:  '$1'" "want match: $2"
	fi
}

skip() { # N REASON: N tests that cannot run here
	local i
	for i in $(seq 1 "$1"); do
		_tap_n=$((_tap_n + 1))
		echo "ok $_tap_n # SKIP $2"
	done
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
	exit $?
}
