/*
 * render.h: template variables. A variable is "{{name}}" with name made of
 * ASCII letters, digits, '_', '-' and '.', 1 to 64 bytes, no blanks
 * (ses-api.md section 6: match exactly, nothing else between the braces).
 * Anything else in braces is literal text. Scanning (at upload) and
 * substitution (per recipient, in the workers) recognise exactly the same
 * variables. Pure: no I/O, no globals.
 */
#ifndef SESD_RENDER_H
#define SESD_RENDER_H

#include <stddef.h>

#include "log.h"
#include "util.h"

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

/*
 * Values for substitution: name -> value, built from TemplateData JSON
 * texts (ses-api.md 3.1, 3.7). Precedence, first match wins:
 *   1. names added to d earlier win over the same names added later;
 *   2. any name in d wins over d->fallback (then its fallback, and so on).
 * So a worker parses the shared Template.TemplateData once into one
 * render_data, and per recipient makes a small one holding the list's
 * TemplateData with .fallback pointing at the shared one (DESIGN.md 6:
 * per-recipient data wins). Adding the recipient's text first and the
 * shared text second to a single render_data gives the same answers.
 */
struct render_kv {
	const char *name; /* NUL-terminated, in one of blocks */
	size_t name_len;
	const char *value; /* NUL-terminated, in one of blocks */
	size_t value_len;
};

struct render_data {
	struct render_kv *kv; /* sorted by name (bytes), names unique */
	size_t n;
	char **blocks; /* one allocation per successful add_json */
	size_t nblocks;
	/* Borrowed, may be NULL: consulted for names not in d. Must outlive
	 * every lookup through d; set it directly after render_data_init. */
	const struct render_data *fallback;
};

/* Empty data, no fallback. */
void render_data_init(struct render_data *d);
/* Frees everything d owns (not the fallback) and re-initialises it. */
void render_data_reset(struct render_data *d);
/*
 * Adds the members of json (len bytes, a JSON object whose values are all
 * strings) to d; names already in d keep their value. len 0 (an empty
 * TemplateData) adds nothing and succeeds. Returns 0, or -1 with a
 * one-line reason in err (errlen bytes) and d unchanged when the text is
 * not valid JSON (json_parse's rules: UTF-8, no NUL), not an object, has a
 * value that is not a string (number, bool, null, array, object) or
 * repeats a name (err may be NULL). Values are copied; json need not
 * outlive d.
 */
int render_data_add_json(struct render_data *d, const char *json, size_t len,
    char *err, size_t errlen) SESD_MUSTCHECK;
/* The value of name (NUL-terminated), looked up in d then its fallbacks,
 * or NULL. Borrowed: valid until d (or the fallback that held it) is reset
 * or added to. */
const char *render_data_find(const struct render_data *d, const char *name);

/* How render_subst inserts a value. */
enum render_mode {
	RENDER_TEXT, /* as it is (Text part) */
	RENDER_HTML, /* HTML-escaped: & < > " ' (Html part) */
	/* as it is, but a value holding a control character other than TAB
	 * (CR and LF included) or DEL is refused (Subject) */
	RENDER_HEADER,
};

/* Why render_subst failed. */
enum render_err_kind {
	RENDER_ERR_NONE,
	RENDER_ERR_MISSING, /* no value for the variable */
	RENDER_ERR_CONTROL, /* RENDER_HEADER and the value has a control */
};

struct render_err {
	enum render_err_kind kind;
	char name[RENDER_VAR_MAX + 1]; /* the variable, NUL-terminated */
};

/*
 * Appends tmpl (len bytes) to out with every variable (as render_vars_scan
 * finds them, left to right, non-overlapping) replaced by its value from d
 * (NULL: no values) in the given mode; all other bytes, braces included,
 * are copied as they are. Only values are escaped or checked, never the
 * template's own text. One pass over tmpl; out grows, nothing else is
 * allocated. Returns 0, or -1 at the first variable that has no value
 * (missing variables are errors, never empty: ses-api.md 6) or, in
 * RENDER_HEADER, whose value has a control character; then err (if not
 * NULL) names it and out is truncated back to its length on entry.
 */
int render_subst(struct buf *out, const char *tmpl, size_t len,
    const struct render_data *d, enum render_mode mode,
    struct render_err *err) SESD_MUSTCHECK;

/* A short static phrase for logs ("template variable has no value"). */
const char *render_err_to_text(enum render_err_kind kind);

#endif
