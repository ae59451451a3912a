#!/usr/bin/env bash
# `sclerad images import` (read, de-identify per DICOM PS3.15 Annex E Basic
# Profile with modified dates, store into SQLite) beside what a user would
# otherwise run on the same files: pydicom + deid (default recipe, files
# out), DCMTK dcmodify (a handful of erasures and new instance UIDs, in
# place), and cat / cp -r for the speed of the disk and page cache.
#
#   bash bench/images-import.sh            # from the repository root
#   N=500 REPEATS=3 WORK=/tmp/sclerad-images-bench SETS="ct512 synth" bash bench/images-import.sh
#   BUILD=1 bash bench/images-import.sh    # rebuild the two binaries first
#
# WORK is removed and made anew. Results: the Markdown table on stdout,
# every run's /usr/bin/time output under $WORK/times/.
#
# Sets: ct512 = N copies of one 512×512 16-bit CT slice (crates/sclerad-dicom/
# examples/render.rs), made a series of the study's first patient (new SOP
# Instance UIDs, positions 1 mm apart, that patient's hospital Patient ID,
# name, birth date, institution, the date of the bundle's CT); synth = the
# images `sclerad synth --images` writes for 10 patients (96×96 CT slices and
# a 750×450 hand radiograph each). Preparation is not timed. Every timed run
# is under `/usr/bin/time -v` (peak RSS; the wall time is taken by the shell,
# to the µs, as /usr/bin/time's is to 10 ms); a tool that modifies files
# in place gets a fresh copy each run, and `sclerad images import` a fresh
# database (the bundle imported again), so each run stores everything.
#
# Needs: cargo, DCMTK (dcmodify, dcmdump), python3 (a venv with
# pydicom==3.0.2 deid==0.4.13 is made at $VENV if missing: PyPI).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
W=${WORK:-/tmp/sclerad-images-bench}
N=${N:-500}
REPEATS=${REPEATS:-3}
SETS=${SETS:-ct512 synth}
VENV=${VENV:-/tmp/sclerad-deid-venv}
SCLERAD=$ROOT/target/release/sclerad
RENDER=$ROOT/target/release/examples/render
TIME=/usr/bin/time

# 1. binaries
if [[ ! -x $SCLERAD || ${BUILD:-0} == 1 ]]; then
    cargo build --release -p sclerad-cli
fi
if [[ ! -x $RENDER || ${BUILD:-0} == 1 ]]; then
    cargo build --release -p sclerad-dicom --example render
fi
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pydicom==3.0.2 deid==0.4.13
fi
PY=$VENV/bin/python

# 2. the bundle, its images and the study
rm -rf "$W"
mkdir -p "$W/times"
"$SCLERAD" synth --patients 10 --readings long --images --out "$W/b" >/dev/null
fresh_db() {
    rm -f "$W/s.db" "$W/s.db-wal" "$W/s.db-shm"
    "$SCLERAD" import "$W/b" --study s --db "sqlite:$W/s.db" >/dev/null
}
fresh_db

# 3. the realistic-size set: N 512×512 CT slices of the first patient
"$RENDER" 1 "$W/slice512.dcm" >/dev/null
HOSP_ID=$(awk -F, 'NR == 2 { print $1 }' "$W/b/images-map.csv")
REF_CT=$(find "$W/b/images/$HOSP_ID/ct" -name '*.dcm' | sort | head -1)
"$PY" - "$W/slice512.dcm" "$REF_CT" "$HOSP_ID" "$N" "$W/ct512" <<'EOF'
import os, sys
import pydicom
from pydicom.uid import generate_uid

src, ref_path, hosp_id, n, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
os.makedirs(out, exist_ok=True)
ref = pydicom.dcmread(ref_path)           # the patient's own (small) CT: its study
ds = pydicom.dcmread(src)                 # the 512×512 slice
for kw in ["ImageType", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate",
           "StudyTime", "AccessionNumber", "ReferringPhysicianName", "StudyDescription",
           "PatientName", "PatientBirthDate", "PatientSex", "BodyPartExamined",
           "StudyInstanceUID", "StudyID", "Manufacturer", "KVP"]:
    if kw in ref:
        setattr(ds, kw, ref[kw].value)
ds.Modality = "CT"
ds.PatientID = hosp_id
ds.InstitutionName = "CHU DE NANCY - HOPITAL CENTRAL"
ds.InstitutionAddress = "29 AVENUE DU MARECHAL DE LATTRE DE TASSIGNY, 54000 NANCY"
ds.StationName = "CTSCAN02"
ds.OperatorsName = "MARTIN^CLAIRE"
ds.SeriesDescription = "THORAX HR 1.0 " + str(ds.PatientName)
ds.SeriesInstanceUID = generate_uid()
ds.FrameOfReferenceUID = generate_uid()
ds.SeriesNumber = 2
ds.SliceThickness = "1"
for k in range(n):
    uid = generate_uid()
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = ["-128", "-128", str(-k)]
    ds.SliceLocation = str(-k)
    ds.save_as(os.path.join(out, f"IM{k + 1:04d}.dcm"), enforce_file_format=True)
EOF
ln -s "$W/b/images" "$W/synth"

dir_of() { echo "$W/$1"; }

# 4. the timed runs
# Waits (at most QUIET_WAIT seconds, 300 by default) until both cores were
# at least 90 % idle for a second: other work on the machine (a build, a
# test run) would otherwise be measured too. QUIET_WAIT=0 skips it.
quiet() {
    local deadline=$((SECONDS + ${QUIET_WAIT:-300})) a b
    while ((SECONDS < deadline)); do
        read -ra a </proc/stat
        sleep 1
        read -ra b </proc/stat
        local total=0 i
        for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
        local idle=$((b[4] + b[5] - a[4] - a[5]))
        ((total > 0 && idle * 100 >= total * 90)) && return 0
    done
    echo "the machine was not quiet for ${QUIET_WAIT:-300} s: measuring anyway" >&2
    echo "not quiet before a run" >>"$W/times/loadavg"
}

timed() { # NAME SET RUN -- command…
    local name=$1 set=$2 run=$3 t0 t1
    shift 4
    quiet
    t0=$EPOCHREALTIME
    "$TIME" -v -o "$W/times/$name.$set.$run" "$@" >"$W/times/$name.$set.$run.out" 2>&1 || {
        local rc=$?
        echo "exit $rc" >>"$W/times/$name.$set.$run.rc"
    }
    t1=$EPOCHREALTIME
    # /usr/bin/time's wall clock is to 10 ms: the shell's, to 1 µs (it
    # includes starting /usr/bin/time, about 1 ms)
    echo "$t0 $t1" >"$W/times/$name.$set.$run.wall"
    cat /proc/loadavg >>"$W/times/loadavg"
}

for set in $SETS; do
    IN=$(readlink -f "$(dir_of "$set")")
    for r in $(seq "$REPEATS"); do
        sync
        timed cat "$set" "$r" -- sh -c "find '$IN' -type f -exec cat {} + >/dev/null"

        rm -rf "$W/cp-out"
        timed cp "$set" "$r" -- cp -r "$IN" "$W/cp-out"

        fresh_db
        timed sclerad "$set" "$r" -- "$SCLERAD" images import "$IN" --study s \
            --db "sqlite:$W/s.db" --map "$W/b/images-map.csv" --report "$W/report.$set.$r.csv"
        # what the database holds once the checkpoint is done
        ls -l "$W"/s.db* >"$W/times/db-size.$set.$r"

        rm -rf "$W/deid-out"
        timed deid "$set" "$r" -- "$PY" "$ROOT/bench/pydicom_deid_import.py" "$IN" "$W/deid-out"

        rm -rf "$W/dcmodify-copy"
        cp -r "$IN" "$W/dcmodify-copy"
        sync
        timed dcmodify "$set" "$r" -- find "$W/dcmodify-copy" -type f -name '*.dcm' -exec \
            dcmodify -q -nb -ie -imt -gin -ep \
            -ea "(0010,0010)" -ma "(0010,0020)=ANON" -ea "(0010,0030)" \
            -ea "(0008,0080)" -ea "(0008,0081)" -ea "(0008,0090)" -ea "(0008,1010)" \
            -ea "(0008,1070)" -ea "(0008,0050)" {} +
    done
done

# 5. medians
"$PY" - "$W" "$SETS" "$REPEATS" <<'EOF'
import glob, os, re, statistics, sys

w, sets, repeats = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])

def parse(path):
    text = open(path).read()
    t0, t1 = (float(x) for x in open(path + ".wall").read().split())
    wall = t1 - t0
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, rss

def walk(d):
    files = [os.path.join(p, f) for p, _, fs in os.walk(d, followlinks=True) for f in fs]
    return len(files), sum(os.path.getsize(f) for f in files)

tools = [("sclerad", "`sclerad images import` (de-identify + SQLite)"),
         ("deid", "pydicom 3.0.2 + deid 0.4.13, default recipe (files out)"),
         ("dcmodify", "DCMTK 3.6.7 `dcmodify`, in place"),
         ("cat", "`cat` to /dev/null"),
         ("cp", "`cp -r`")]
print("| set | tool | files | MB | wall, median of %d | runs | MB/s | instances/s | peak RSS, MiB |" % repeats)
print("|---|---|---:|---:|---:|---|---:|---:|---:|")
for s in sets:
    n, size = walk(os.path.join(w, s))
    mb = size / 1e6
    for key, label in tools:
        runs = [parse(p) for p in sorted(glob.glob(f"{w}/times/{key}.{s}.[0-9]"))]
        if not runs:
            continue
        walls = [r[0] for r in runs]
        wall = statistics.median(walls)
        rss = statistics.median(r[1] for r in runs) / 1024
        failed = glob.glob(f"{w}/times/{key}.{s}.*.rc")
        note = " (exit ≠ 0, see times/)" if failed else ""
        print(f"| {s} | {label}{note} | {n} | {mb:.1f} | {wall:.3f} s | "
              f"{', '.join(f'{x:.3f}' for x in walls)} | {mb / wall:.0f} | {n / wall:.0f} | {rss:.0f} |")
print()
for s in sets:
    for r in range(1, repeats + 1):
        rep = f"{w}/report.{s}.{r}.csv"
        if os.path.exists(rep):
            import csv
            rows = list(csv.DictReader(open(rep)))
            acts, reasons = {}, {}
            for row in rows:
                acts[row["action"]] = acts.get(row["action"], 0) + 1
                if row["action"] != "stored" or row["warnings"]:
                    why = f'{row["action"]}: {row["reason"]} {row["warnings"]}'
                    reasons[why] = reasons.get(why, 0) + 1
            print(f"report {s} run {r}: {acts}")
            for why, count in reasons.items():
                print(f"    {count} × {why}")
    sizes = open(f"{w}/times/db-size.{s}.1").read().split("\n")
    print(f"database after {s} run 1:")
    for line in sizes:
        if line:
            print("   ", line)
EOF
