#!/usr/bin/env python3
"""De-identify every DICOM file under IN_DIR with pydicom + deid, into OUT_DIR.

What a Python user would reach for instead of `sclerad images import`:
deid (pydicom/deid) with its default recipe (`deid/data/deid.dicom`, used
when no recipe is given): remove dates and times, names, IDs, UIDs and a
list of identifying attributes, then ADD back PatientID, AccessionNumber,
StudyDate and PatientBirthDate from variables and PatientIdentityRemoved
YES. Files are written under OUT_DIR with their path relative to IN_DIR
(deid itself names outputs by basename only, so each folder is handed to
it on its own). Nothing is stored in a database.

    python3 bench/pydicom_deid_import.py IN_DIR OUT_DIR

Needs `pip install pydicom==3.0.2 deid==0.4.13`.
"""

import os
import sys
from collections import defaultdict

from deid.dicom import get_files, replace_identifiers
from deid.logger import bot
from deid.logger.message import ERROR


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = (os.path.abspath(a) for a in sys.argv[1:])
    # deid logs at DEBUG by default (several lines per file, and a warning
    # per call that the default recipe is used): show errors only, so the
    # terminal is not what is timed.
    bot.level = ERROR
    # get_files validates each file as DICOM (it reads it with pydicom).
    by_dir = defaultdict(list)
    for path in get_files(src):
        by_dir[os.path.dirname(path)].append(path)
    done = 0
    for folder, files in sorted(by_dir.items()):
        target = os.path.join(out, os.path.relpath(folder, src))
        os.makedirs(target, exist_ok=True)
        # deid=None: deid's default recipe. save=True writes each file to
        # output_folder under its basename.
        written = replace_identifiers(
            dicom_files=sorted(files),
            deid=None,
            save=True,
            output_folder=target,
            overwrite=True,
        )
        done += len(written)
    print(f"de-identified {done} files into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
