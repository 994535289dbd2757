/*
 * json.c: yajl wrappers shared by the API layer and the actions. Numbers
 * keep yajl's integer/double split. yajl decodes \uXXXX escapes (surrogate
 * pairs included) but checks UTF-8 only loosely, so json_parse adds the
 * strict checks itself (see escapes_ok).
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "util.h"

static unsigned
hex4(const char *s)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v = v << 4 | (unsigned)(c <= '9'   ? c - '0'
					: c <= 'F' ? c - 'A' + 10
						   : c - 'a' + 10);
	}
	return v;
}

/*
 * yajl lets overlong forms, surrogates and code points past U+10FFFF
 * through in raw bytes (utf8_valid catches those), and decodes \u0000 to a
 * NUL that cuts the C string, a lone high surrogate to "?" and a lone low
 * one to invalid UTF-8. s must already be accepted by yajl (so escapes are
 * complete); every \u escape must be a non-NUL scalar value, surrogates
 * only as a high+low pair, and comments are refused.
 */
static bool
escapes_ok(const char *s, size_t len)
{
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		/* yajl_tree allows comments; JSON and Tencent do not */
		if (!in_str && s[i] == '/')
			return false;
		if (s[i] == '"') {
			in_str = !in_str;
			continue;
		}
		if (!in_str || s[i] != '\\' || ++i >= len || s[i] != 'u')
			continue;
		if (i + 4 >= len)
			return false;
		unsigned cp = hex4(s + i + 1);
		i += 4;
		if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
			return false;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 6 >= len || s[i + 1] != '\\' || s[i + 2] != 'u')
				return false;
			cp = hex4(s + i + 3);
			if (cp < 0xdc00 || cp > 0xdfff)
				return false;
			i += 6;
		}
	}
	return true;
}

yajl_val
json_parse(const char *data, size_t len, char *err, size_t errlen)
{
	char *copy;
	yajl_val v;

	if (memchr(data, '\0', len) != NULL) {
		snprintf(err, errlen, "the body contains a NUL byte");
		return NULL;
	}
	if (!utf8_valid(data, len)) {
		snprintf(err, errlen, "the body is not valid UTF-8");
		return NULL;
	}
	copy = xstrndup(data, len);
	err[0] = '\0';
	v = yajl_tree_parse(copy, err, errlen);
	free(copy);
	if (v == NULL) {
		/* yajl's message spans lines with a caret diagram: keep line 1
		 */
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = '\0';
		if (err[0] == '\0')
			snprintf(err, errlen, "malformed JSON");
	} else if (!escapes_ok(data, len)) {
		yajl_tree_free(v);
		snprintf(err, errlen,
		    "a comment, \\u0000 or a lone surrogate escape");
		v = NULL;
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

/*
 * The check yajl_gen_validate_utf8 makes (yajl_string_validate_utf8: lead
 * and continuation bytes by shape only), so that jw_strn refuses exactly
 * what yajl would. Keys need none: they are literals, or names from a
 * request that json_parse or the query decoder already checked.
 */
static bool
gen_utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, more;

	while (i < len) {
		unsigned char c = s[i++];
		if (c <= 0x7f)
			continue;
		if (c >> 5 == 0x6)
			more = 1;
		else if (c >> 4 == 0x0e)
			more = 2;
		else if (c >> 3 == 0x1e)
			more = 3;
		else
			return false;
		if (more > len - i)
			return false;
		for (; more > 0; more--)
			if (s[i++] >> 6 != 0x2)
				return false;
	}
	return true;
}

yajl_gen
json_gen_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		fatalx("out of memory in yajl_gen_alloc");
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

/*
 * Invalid UTF-8 becomes "", as yajl's own check made it. A short string of
 * printable ASCII other than '"' and '\\' needs no escape, so it is
 * quoted here and handed over whole through yajl_gen_number (which prints
 * its text as is, with the same separators): yajl's encoder looks at each
 * byte through a switch and a callback, a tenth of a small reply's cost.
 */
void
jw_strn(yajl_gen g, const char *key, const char *val, size_t len)
{
	const unsigned char *u = (const unsigned char *)val;
	char quoted[256];
	size_t i;

	put_key(g, key);
	if (len <= sizeof(quoted) - 2) {
		for (i = 0; i < len; i++)
			if (u[i] < 0x20 || u[i] > 0x7e || u[i] == '"' ||
			    u[i] == '\\')
				break;
		if (i == len) {
			quoted[0] = '"';
			memcpy(quoted + 1, val, len);
			quoted[len + 1] = '"';
			/* refused only in a key's place: yajl's path then */
			if (yajl_gen_number(g, quoted, len + 2) ==
			    yajl_gen_status_ok)
				return;
		}
	}
	if (!gen_utf8_ok(u, len))
		len = 0;
	yajl_gen_string(g, u, len);
}

/*
 * The digits yajl_gen_integer would print ("%lld"), without its sprintf:
 * yajl_gen_number emits them as they are, with the same separators.
 */
void
jw_int(yajl_gen g, const char *key, int64_t val)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = val < 0 ? 0 - (uint64_t)val : (uint64_t)val;

	put_key(g, key);
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (val < 0)
		*--p = '-';
	yajl_gen_number(g, p, (size_t)(buf + sizeof(buf) - p));
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
		yajl_gen_string(
		    g, (const unsigned char *)v->u.string, strlen(v->u.string));
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
