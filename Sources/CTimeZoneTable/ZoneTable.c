// Links ZoneTable.c.bin (next to this file) into the binary as read-only data. The path comes from __FILE__, so the
// table is found wherever the checkout is. The build does not track the .bin: after regenerating it, touch this file.
#include "CTimeZoneTable.h"

#if defined(__APPLE__)
#define ODIN_TZ_SECTION ".const_data\n"
#define ODIN_TZ_SYMBOL(name) "_" #name
#define ODIN_TZ_HIDE(name) ".private_extern _" #name "\n"
#else
#define ODIN_TZ_SECTION ".section .rodata\n"
#define ODIN_TZ_SYMBOL(name) #name
#define ODIN_TZ_HIDE(name) ".hidden " #name "\n"
#endif

__asm__(
    ODIN_TZ_SECTION
    ".balign 16\n"
    ".globl " ODIN_TZ_SYMBOL(odin_tz_table_start) "\n"
    ODIN_TZ_HIDE(odin_tz_table_start)
    ".globl " ODIN_TZ_SYMBOL(odin_tz_table_end) "\n"
    ODIN_TZ_HIDE(odin_tz_table_end)
    ODIN_TZ_SYMBOL(odin_tz_table_start) ":\n"
    ".incbin \"" __FILE__ ".bin\"\n"
    ODIN_TZ_SYMBOL(odin_tz_table_end) ":\n"
    ".text\n");

extern const unsigned char odin_tz_table_start[];
extern const unsigned char odin_tz_table_end[];

const unsigned char *odin_tz_table_bytes(void) { return odin_tz_table_start; }
unsigned long odin_tz_table_length(void) { return (unsigned long)(odin_tz_table_end - odin_tz_table_start); }
