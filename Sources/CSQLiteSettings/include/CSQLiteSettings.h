#ifndef COMMERCE_CSQLITESETTINGS_H
#define COMMERCE_CSQLITESETTINGS_H

/// Turns off SQLite's memory statistics for the whole process (`SQLITE_CONFIG_MEMSTATUS`, 0):
/// SQLite then takes no global mutex around each of its allocations. `sqlite3_config` is variadic,
/// which Swift cannot call, hence this C function. It must run before SQLite initializes (before
/// the process opens its first connection); later it changes nothing and returns SQLITE_MISUSE.
/// Returns SQLite's result code.
int commerce_sqlite_disable_memory_statistics(void);

#endif
