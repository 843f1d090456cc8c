#!/bin/sh
# Seed corpora for the fuzz targets from the public samples and a freshly written demo case.
# Nothing here is committed (fuzz/corpus is ignored): samples stay in /work/shared/samples.
#
#   fuzz/seed.sh            (BSODWB_SAMPLES overrides the samples folder; MAX the seed size;
#                            BSODWB a built bsodwb binary to write the demo case with)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
samples=${BSODWB_SAMPLES:-$here/../../shared/samples}
max=${MAX:-1048576}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The demo case: a dump, a boot log, event logs, a SYSTEM hive, catalogs and drivers, all small.
if [ -n "${BSODWB:-}" ]; then
    "$BSODWB" demo "$work/demo" >/dev/null
else
    cargo run -q --manifest-path "$here/../Cargo.toml" -- demo "$work/demo" >/dev/null
fi

# seed TARGET FILE...: the first $max bytes of each file, named after its path.
seed() {
    target=$1
    shift
    mkdir -p "$here/corpus/$target"
    for f in "$@"; do
        [ -f "$f" ] || continue
        name=$(printf '%s' "$f" | sed "s|^$work/||; s|^$samples/||" | tr -c 'A-Za-z0-9._-' _)
        head -c "$max" "$f" >"$here/corpus/$target/$name"
    done
}
files() { find "$samples" "$work/demo" -type f "$@" 2>/dev/null | sort; }

seed pml $(files \( -iname '*.pml' -o -name '*PML' \))
seed dump $(files \( -iname '*.dmp' -o -name 'dmp64*.bin' \))
seed evtx $(files -iname '*.evtx' -size -8192k)
if [ -f "$samples/regipy/SYSTEM_WIN_10_1709.xz" ]; then
    xz -dc "$samples/regipy/SYSTEM_WIN_10_1709.xz" | head -c "$max" >"$work/SYSTEM_WIN_10_1709"
fi
seed hive "$work/SYSTEM_WIN_10_1709" $(files -name 'SYSTEM')
# A transaction log starts with a base block like the hive's: hive seeds are log seeds too.
seed hive_log "$work/SYSTEM_WIN_10_1709" $(files \( -iname 'SYSTEM.LOG*' -o -name 'SYSTEM' \))
seed pe $(files \( -iname '*.sys' -o -iname '*.dll' -o -iname '*.exe' \))
seed signing $(files \( -iname '*.sys' -o -iname '*.cat' \))
seed catalog $(files -iname '*.cat')
# text_reports: the first byte chooses the reader (even: sigcheck CSV, odd: SIGVERIF.TXT).
mkdir -p "$work/reports"
for f in $(files \( -iname '*.csv' -o -iname 'sigverif*.txt' \)); do
    case $(basename "$f" | tr 'A-Z' 'a-z') in
    sigverif*) prefix=1 ;;
    *) prefix=0 ;;
    esac
    out="$work/reports/$(basename "$f")"
    printf '%s' "$prefix" >"$out"
    head -c "$max" "$f" >>"$out"
done
seed text_reports $(find "$work/reports" -type f)
seed sniff $(files \( -iname '*.zip' -o -iname '*.gz' -o -iname '*.xz' -o -iname '*.txt' -o -iname '*.log' -o -iname '*.inf' -o -iname '*.csv' \) -size -1024k)
for d in "$here"/corpus/*; do
    printf '%-14s %4d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
