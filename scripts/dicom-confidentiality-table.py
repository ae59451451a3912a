#!/usr/bin/env python3
"""Write DICOM PS3.15 Table E.1-1 (Application Level Confidentiality
Profile Attributes) as the tab-separated table sclerad-dicom reads.

Input: the table as JSON, one object per row, as the innolitics/dicom-standard
project extracts it from the standard's DocBook source
(standard/confidentiality_profile_attributes.json). Output: one row per
attribute (whitespace in names folded to single spaces), sorted by tag, one column per profile and option, the action
codes as the standard writes them (empty: the option does not change the
basic profile's action).

    python3 scripts/dicom-confidentiality-table.py confidentiality_profile_attributes.json \
        > crates/sclerad-dicom/standard/ps3.15-2024b-table-e.1-1.tsv
"""
import re
import json
import sys

COLUMNS = [
    ("tag", "tag"),
    ("name", "name"),
    ("in_std_comp_iod", "stdCompIOD"),
    ("basic", "basicProfile"),
    ("retain_safe_private", "rtnSafePrivOpt"),
    ("retain_uids", "rtnUIDsOpt"),
    ("retain_device_ident", "rtnDevIdOpt"),
    ("retain_institution_ident", "rtnInstIdOpt"),
    ("retain_patient_chars", "rtnPatCharsOpt"),
    ("retain_full_dates", "rtnLongFullDatesOpt"),
    ("retain_modified_dates", "rtnLongModifDatesOpt"),
    ("clean_desc", "cleanDescOpt"),
    ("clean_struct_cont", "cleanStructContOpt"),
    ("clean_graph", "cleanGraphOpt"),
]


def main(path):
    with open(path, encoding="utf-8") as f:
        rows = json.load(f)
    rows.sort(key=lambda r: r["tag"].upper())
    print("\t".join(c for c, _ in COLUMNS))
    for r in rows:
        print("\t".join(re.sub(r"\s+", " ", r.get(k, "")).strip() for _, k in COLUMNS))


if __name__ == "__main__":
    main(sys.argv[1])
