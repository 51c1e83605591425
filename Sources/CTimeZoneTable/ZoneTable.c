// Links ZoneTable.c.bin (next to this file) into the binary as read-only data. The path comes from __FILE__, so the
// table is found wherever the checkout is. The build does not track the .bin: after regenerating it, touch this file.
#include "CTimeZoneTable.h"

__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".globl odin_tz_table_start\n"
    ".hidden odin_tz_table_start\n"
    ".globl odin_tz_table_end\n"
    ".hidden odin_tz_table_end\n"
    "odin_tz_table_start:\n"
    ".incbin \"" __FILE__ ".bin\"\n"
    "odin_tz_table_end:\n"
    ".previous\n");

extern const unsigned char odin_tz_table_start[];
extern const unsigned char odin_tz_table_end[];

const unsigned char *odin_tz_table_bytes(void) { return odin_tz_table_start; }
unsigned long odin_tz_table_length(void) { return (unsigned long)(odin_tz_table_end - odin_tz_table_start); }
