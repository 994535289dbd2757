/*
 * json.h: thin helpers over yajl: parse a request body into a tree, read
 * typed members, and write members into a yajl generator. Leaf module.
 */
#ifndef SESD_JSON_H
#define SESD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/*
 * Parses len bytes (need not be NUL-terminated). Returns a tree the caller
 * frees with yajl_tree_free(), or NULL with a one-line reason in err.
 */
yajl_val json_parse(const char *data, size_t len, char *err, size_t errlen);

/* Member key of object obj, or NULL when absent or JSON null. */
yajl_val json_member(yajl_val obj, const char *key);
/* The string, or NULL if v is not a string. Borrowed from the tree. */
const char *json_str(yajl_val v);
/* True and *out set if v is an integral number fitting int64. */
bool json_int(yajl_val v, int64_t *out);

/* Writing: a generator that validates UTF-8 and never escapes '/'. */
yajl_gen json_gen_new(void);
void jw_key(yajl_gen g, const char *key);
void jw_str(yajl_gen g, const char *key, const char *val); /* NULL -> "" */
void jw_strn(yajl_gen g, const char *key, const char *val, size_t len);
void jw_int(yajl_gen g, const char *key, int64_t val);
void jw_bool(yajl_gen g, const char *key, bool val);
void jw_null(yajl_gen g, const char *key);
/* Value-only forms for array elements (key NULL also works above). */
void jw_open_obj(yajl_gen g, const char *key);
void jw_close_obj(yajl_gen g);
void jw_open_arr(yajl_gen g, const char *key);
void jw_close_arr(yajl_gen g);
/*
 * Copies an already-serialised JSON value (from PostgreSQL's json output)
 * into g under key, re-generating it so the output stays well-formed.
 * Returns 0, or -1 if text is not valid JSON (nothing written then).
 */
int jw_raw(yajl_gen g, const char *key, const char *text, size_t len);

#endif
