"""Edit one cell of a workbook in real LibreOffice and save it as .xlsx (run by tests/test_workbook.py
with the system's python3, which has LibreOffice's Python-UNO bridge; Debian: python3-uno).

    python3 tests/libreoffice_edit.py IN.xlsx OUT.xlsx SHEET CELL VALUE PROFILE_DIR

Starts `soffice --headless` listening on a private pipe, opens IN.xlsx, sets CELL (A1 notation) of
SHEET to VALUE (a number when it reads as one, else text) through Calc's own API, as typing would,
stores the document with Calc's "Excel 2007-365" filter as OUT.xlsx and closes LibreOffice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import uno  # noqa: E402 - from python3-uno
from com.sun.star.beans import PropertyValue  # noqa: E402
from com.sun.star.connection import NoConnectException  # noqa: E402


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main(source: str, target: str, sheet_name: str, cell_name: str, value: str, profile: str) -> None:
    pipe = f"ewppt-{uuid.uuid4().hex}"
    office = subprocess.Popen(
        ["soffice", f"-env:UserInstallation={uno.systemPathToFileUrl(os.path.abspath(profile))}", "--headless",
         "--invisible", "--norestore", "--nologo", "--nodefault", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 90
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if time.monotonic() > deadline or office.poll() is not None:
                    raise SystemExit("LibreOffice did not start")
                time.sleep(0.2)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(source)), "_blank", 0,
                                                (prop("Hidden", True),))
        cell = document.Sheets.getByName(sheet_name).getCellRangeByName(cell_name)
        try:
            cell.setValue(float(value))
        except ValueError:
            cell.setString(value)
        document.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)),
                            (prop("FilterName", "Calc MS Excel 2007 XML"), prop("Overwrite", True)))
        document.close(True)
        try:
            desktop.terminate()
        except Exception:  # noqa: BLE001 - the bridge closes as LibreOffice exits
            pass
        office.wait(timeout=60)
    finally:
        if office.poll() is None:
            office.kill()
            office.wait()


if __name__ == "__main__":
    main(*sys.argv[1:7])
