/* SPDX-License-Identifier: MIT */
/*
** vtab.h - the four modules, as the entry point registers them.
*/
#ifndef EVENTMD_VTAB_H
#define EVENTMD_VTAB_H

#include "conn.h"

/* Register eventmd_events, _sources, _related and _changes on db with
** client data conn (each registration holds a reference to it). */
int emd_register_tables(sqlite3 *db, emd_conn *conn);

#endif /* EVENTMD_VTAB_H */
