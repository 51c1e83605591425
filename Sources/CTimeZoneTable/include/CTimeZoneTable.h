#ifndef ODIN_CTIMEZONETABLE_H
#define ODIN_CTIMEZONETABLE_H

/// The compact time-zone table (ZoneTable.c.bin, built by scripts/tz/build_table.py), linked into the binary so that
/// Munin's GPS → zone lookup needs no file at run time. Read-only bytes; Munin's ZoneLookup parses them.
const unsigned char *odin_tz_table_bytes(void);
unsigned long odin_tz_table_length(void);

#endif
