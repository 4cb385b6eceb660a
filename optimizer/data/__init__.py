"""The data wing: the instance format (schema), reading a folder or workbook (io), cross-table
checks, the engine's errors, synthetic instances (generate), result folders written whole
(output) and the units an instance is solved in (scaling). Imports nothing above it."""
