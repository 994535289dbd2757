/*
 * migrate.h: the sql/ migrations embedded at build time (migrations_gen.c,
 * made by embed_sql.cmake). migrations_version is the schema version this
 * binary needs.
 */
#ifndef SESD_MIGRATE_H
#define SESD_MIGRATE_H

struct migration {
	int version;      /* NNNN of sql/NNNN_name.sql */
	const char *name; /* file name */
	const char *sql;  /* its text */
};

extern const struct migration migrations[];
extern const int migrations_count;
extern const int migrations_version;

#endif
