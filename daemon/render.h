/*
 * render.h: template variables. A variable is "{{name}}" with name made of
 * letters, digits, '_', '-' and '.', 1 to 64 bytes, no blanks (ses-api.md
 * section 6: match exactly, nothing else between the braces). Anything
 * else in braces is literal text. Pure: no I/O, no globals.
 */
#ifndef SESD_RENDER_H
#define SESD_RENDER_H

#include <stddef.h>

#define RENDER_VAR_MAX 64

/* A sorted set of distinct variable names. */
struct render_vars {
	char **names;
	size_t n;
};

void render_vars_init(struct render_vars *v);
void render_vars_reset(struct render_vars *v);
/* Adds every variable of text (len bytes) to v, keeping it sorted and
 * without duplicates. */
void render_vars_scan(struct render_vars *v, const char *text, size_t len);
/* Adds one name (copied) if absent. */
void render_vars_add(struct render_vars *v, const char *name);
/* 1 if name is in v. */
int render_vars_has(const struct render_vars *v, const char *name);

#endif
