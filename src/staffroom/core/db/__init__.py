"""The database: `engine` (which engine, its pool, what its errors mean), `sql` (the one
module that runs hand-written SQL and touches Piccolo's internals) and `pages` (keyset
cursors)."""
