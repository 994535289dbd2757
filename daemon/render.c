/*
 * render.c: finds {{variables}} in template text. Substitution for
 * delivery arrives with the worker; this file stays free of I/O so that
 * both the API (extraction at upload) and the workers can use it.
 */
#include "render.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void
render_vars_init(struct render_vars *v)
{
	v->names = NULL;
	v->n = 0;
}

void
render_vars_reset(struct render_vars *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->names[i]);
	free(v->names);
	render_vars_init(v);
}

static int
var_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

/* Position of name in v, or where it would go (negative - 1). */
static long
find(const struct render_vars *v, const char *name)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v->names[mid], name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

void
render_vars_add(struct render_vars *v, const char *name)
{
	long pos = find(v, name);
	size_t at;

	if (pos >= 0)
		return;
	at = (size_t)(-pos - 1);
	v->names = xrealloc(v->names, (v->n + 1) * sizeof(char *));
	memmove(v->names + at + 1, v->names + at, (v->n - at) * sizeof(char *));
	v->names[at] = xstrdup(name);
	v->n++;
}

int
render_vars_has(const struct render_vars *v, const char *name)
{
	return find(v, name) >= 0;
}

void
render_vars_scan(struct render_vars *v, const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		size_t k;
		if (text[i] != '{' || text[i + 1] != '{')
			continue;
		for (k = i + 2; k < len && var_char((unsigned char)text[k]);
		     k++)
			;
		size_t n = k - (i + 2);
		if (n == 0 || n > RENDER_VAR_MAX || k + 1 >= len ||
		    text[k] != '}' || text[k + 1] != '}')
			continue;
		char name[RENDER_VAR_MAX + 1];
		memcpy(name, text + i + 2, n);
		name[n] = '\0';
		render_vars_add(v, name);
		i = k + 1;
	}
}
