/*
 * json.c: yajl wrappers shared by the API layer and the actions. Numbers
 * keep yajl's integer/double split; strings are validated as UTF-8 by
 * yajl's parser (\uXXXX escapes, surrogate pairs included, are decoded).
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "util.h"

yajl_val
json_parse(const char *data, size_t len, char *err, size_t errlen)
{
	char *copy = xstrndup(data, len);
	yajl_val v;

	if (memchr(data, '\0', len) != NULL) {
		snprintf(err, errlen, "the body contains a NUL byte");
		free(copy);
		return NULL;
	}
	err[0] = '\0';
	v = yajl_tree_parse(copy, err, errlen);
	free(copy);
	if (v == NULL) {
		/* yajl's message spans lines with a caret diagram: keep line 1 */
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = '\0';
		if (err[0] == '\0')
			snprintf(err, errlen, "malformed JSON");
	}
	return v;
}

yajl_val
json_member(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0) {
			yajl_val v = obj->u.object.values[i];
			return YAJL_IS_NULL(v) ? NULL : v;
		}
	return NULL;
}

const char *
json_str(yajl_val v)
{
	return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

bool
json_int(yajl_val v, int64_t *out)
{
	if (!YAJL_IS_INTEGER(v))
		return false;
	*out = (int64_t)YAJL_GET_INTEGER(v);
	return true;
}

yajl_gen
json_gen_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		fatalx("out of memory in yajl_gen_alloc");
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

static void
put_key(yajl_gen g, const char *key)
{
	if (key)
		yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

void
jw_key(yajl_gen g, const char *key)
{
	put_key(g, key);
}

void
jw_str(yajl_gen g, const char *key, const char *val)
{
	jw_strn(g, key, val ? val : "", val ? strlen(val) : 0);
}

void
jw_strn(yajl_gen g, const char *key, const char *val, size_t len)
{
	put_key(g, key);
	if (yajl_gen_string(g, (const unsigned char *)val, len) ==
	    yajl_gen_invalid_string)
		yajl_gen_string(g, (const unsigned char *)"", 0);
}

void
jw_int(yajl_gen g, const char *key, int64_t val)
{
	put_key(g, key);
	yajl_gen_integer(g, (long long)val);
}

void
jw_bool(yajl_gen g, const char *key, bool val)
{
	put_key(g, key);
	yajl_gen_bool(g, val);
}

void
jw_null(yajl_gen g, const char *key)
{
	put_key(g, key);
	yajl_gen_null(g);
}

void
jw_open_obj(yajl_gen g, const char *key)
{
	put_key(g, key);
	yajl_gen_map_open(g);
}

void
jw_close_obj(yajl_gen g)
{
	yajl_gen_map_close(g);
}

void
jw_open_arr(yajl_gen g, const char *key)
{
	put_key(g, key);
	yajl_gen_array_open(g);
}

void
jw_close_arr(yajl_gen g)
{
	yajl_gen_array_close(g);
}

static void
gen_tree(yajl_gen g, yajl_val v)
{
	if (YAJL_IS_STRING(v)) {
		yajl_gen_string(g, (const unsigned char *)v->u.string,
		    strlen(v->u.string));
	} else if (YAJL_IS_INTEGER(v)) {
		yajl_gen_integer(g, YAJL_GET_INTEGER(v));
	} else if (YAJL_IS_NUMBER(v)) {
		yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
	} else if (YAJL_IS_TRUE(v)) {
		yajl_gen_bool(g, 1);
	} else if (YAJL_IS_FALSE(v)) {
		yajl_gen_bool(g, 0);
	} else if (YAJL_IS_OBJECT(v)) {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			put_key(g, v->u.object.keys[i]);
			gen_tree(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			gen_tree(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
	} else {
		yajl_gen_null(g);
	}
}

int
jw_raw(yajl_gen g, const char *key, const char *text, size_t len)
{
	char err[128];
	yajl_val v = json_parse(text, len, err, sizeof(err));
	if (v == NULL)
		return -1;
	put_key(g, key);
	gen_tree(g, v);
	yajl_tree_free(v);
	return 0;
}
