"""Prints the schema of a migrated commerce database as SQL a fresh SQLite file can run: every
table, index and trigger, without SQLite's and GRDB's own tables. For order_commit_floor.c.

    python3 benchmarks/baselines/dump_schema.py migrated.sqlite > schema.sql
"""
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1])
for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                         "AND name NOT LIKE 'grdb_%' ORDER BY rowid"):
    print(sql + ";")
