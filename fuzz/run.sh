#!/bin/sh
# Runs fuzz targets one after the other with this project's libFuzzer options:
#   fuzz/run.sh [SECONDS] [TARGET...]       (default: 600 s each, every target)
# -max_len=524288: 512 KiB inputs, above hyper's HTTP/1 head limit (about 408 KiB), so huge
# lists, members and suffix chains are tried (libFuzzer's default is 4096 bytes, or the
# largest corpus file). cargo fuzz passes everything after `--` to libFuzzer.
set -eu
cd "$(dirname "$0")"
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-etag_parse conditions evaluate_differential}
for target in $targets; do
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
        -max_len=524288 -max_total_time="$seconds" -print_final_stats=1
done
