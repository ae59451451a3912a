#!/usr/bin/env python3
"""Writes the hostile workbooks of BENCHMARKS.md ("Hostile workbooks") into
the current folder: workbooks whose XML is written by hand, as no
spreadsheet program would write it. Standard library only."""
import zipfile

PARTS = {
    '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    '_rels/.rels': '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    'xl/workbook.xml': '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="patients" sheetId="1" r:id="rId1"/></sheets></workbook>',
    'xl/_rels/workbook.xml.rels': '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}
HEAD = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
TAIL = '</sheetData></worksheet>'


def workbook(path, rows):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
        z.writestr('xl/worksheets/sheet1.xml', HEAD + rows + TAIL)


def inline(v):
    return f'<c t="inlineStr"><is><t>{v}</t></is></c>'


COLS = ['patient_id', 'sex', 'age_years', 'subset', 'disease_duration_years', 'digital_ulcers', 'ild_ct',
        'pah', 'death', 'hand_xray_date', 'ct_date', 'ct_type', 'calcinosis', 'acro_osteolysis',
        'x1', 'x2', 'x3', 'x4', 'x5', 'x6']
header = '<row>' + ''.join(inline(c) for c in COLS) + '</row>'
# 3 MB: 1,048,000 rows of 20 invalid cells, 829 MB of XML, within a sheet's extent.
workbook('dense-bomb.xlsx', header + ('<row>' + inline('zz') * 20 + '</row>') * 1_048_000)
# 1.4 MB: 400 MB of two-cell rows, past the 1,048,576 rows a sheet holds.
row = '<row>' + inline('P') + inline('female') + '</row>'
workbook('rows-bomb.xlsx', header + row * (400_000_000 // len(row)))
# 0.3 MB: one cell of 300 million characters.
workbook('string-bomb.xlsx', header + '<row>' + inline('A' * 300_000_000) + '</row>')
# 1.5 KB: one cell at XFD1048576, and one at A1000000000.
workbook('far-cell.xlsx', header + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
workbook('huge-row-number.xlsx', '<row r="1000000000"><c r="A1000000000" t="inlineStr"><is><t>x</t></is></c></row>')
