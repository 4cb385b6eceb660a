"""The reports wing: the HTML report of a result folder and its figures. Imports data and
solving (the result tables)."""
