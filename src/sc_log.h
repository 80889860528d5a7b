/*
 * sc_log: the project's numbered log tags.  Every message the module logs
 * carries "SCnnnn:"; docs/errors.md lists them all with what to do.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#define SC_LOGNO(n) "SC" #n ": "

#endif
