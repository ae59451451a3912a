#!/bin/bash
# Each file through validate, analyze and import under a 2 GiB address-space
# limit and a 60 s timeout: exit code, wall time, peak resident memory, the
# first line of stderr. Usage: bench/hostile-run.sh FILE...  (SCLERAD= the binary)
B=${SCLERAD:-target/release/sclerad}
for f in "$@"; do
  for cmd in validate analyze import; do
    case $cmd in
      validate) args=(validate "$f");;
      analyze) rm -rf ${TMPDIR:-/tmp}/out; args=(analyze "$f" --out ${TMPDIR:-/tmp}/out);;
      import) rm -f ${TMPDIR:-/tmp}/h.db*; args=(import "$f" --study h --db sqlite:${TMPDIR:-/tmp}/h.db);;
    esac
    start=$(date +%s.%N)
    ( ulimit -v 2097152; timeout 60 /usr/bin/time -f "%M" -o ${TMPDIR:-/tmp}/mem "$B" "${args[@]}" > ${TMPDIR:-/tmp}/stdout 2> ${TMPDIR:-/tmp}/stderr ); rc=$?
    end=$(date +%s.%N)
    msg=$(grep -v '^$' ${TMPDIR:-/tmp}/stderr | head -1 | cut -c1-110)
    printf "%-24s %-8s rc=%s %6.1fs %7s KB  %s\n" "$(basename $f)" $cmd $rc $(echo "$end-$start"|bc) "$(tail -1 ${TMPDIR:-/tmp}/mem)" "$msg"
  done
done
