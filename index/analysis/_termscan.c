/* The analyser's per-character and per-token work on a passage, in one pass, without a Python
 * object per token; and two small helpers of the build (`number_terms`, `count_words`).
 *
 * Building a million-passage index runs the analyser over ~100 million tokens. In Python each
 * token became a string object (findall or split), was hashed, looked up in the analyser's memo
 * and joined into the stored sentence encoding (~300 ns a token), and each passage went
 * through a dozen regex scans and slices around that: together, half of the build's CPU.
 * `scan_passage` does it over the text where it lies: it checks the characters that keep a
 * text from being clean, rewrites "X.Y." runs as the analyser does, finds the tokens of
 * `[^\W_]+(?:'[^\W_]+)*` exactly as Python's `re` does (a word character is one for which
 * `str.isalnum()` holds, as sre decides), looks each up in a hash table of token -> term (a
 * `TermTable`, filled from Python with the analyser's terms: stemming stays in Python), and
 * builds the result strings once.
 *
 * It is result-identical to the Python it replaced and to the analyser
 * (tests/test_scale_termscan.py, tests/test_scale_equivalence.py): this file is part of the
 * analysis code fingerprint.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* The table: open addressing, keys stored as code points in one arena. */

typedef struct {
    uint64_t hash;
    Py_ssize_t key_at;  /* offset of the key in `keys` */
    Py_ssize_t key_len;
    PyObject *term;     /* owned; NULL marks an empty slot */
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    size_t mask;        /* capacity - 1 (capacity a power of two) */
    Py_ssize_t used;
    Py_UCS4 *keys;
    Py_ssize_t keys_len;
    Py_ssize_t keys_cap;
} TermTable;

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static inline uint64_t
mix(uint64_t h, Py_UCS4 c)
{
    return (h ^ (uint64_t)c) * FNV_PRIME;
}

static inline uint64_t
finish_hash(uint64_t h)
{
    /* FNV's low bits are weak for short keys; spread the high bits down. */
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static int
table_alloc(TermTable *self, size_t capacity)
{
    Slot *slots = PyMem_Calloc(capacity, sizeof(Slot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->slots = slots;
    self->mask = capacity - 1;
    self->used = 0;
    return 0;
}

static void
table_release(TermTable *self)
{
    if (self->slots != NULL) {
        for (size_t i = 0; i <= self->mask; i++) {
            Py_XDECREF(self->slots[i].term);
        }
        PyMem_Free(self->slots);
        self->slots = NULL;
    }
    self->used = 0;
    self->keys_len = 0;
}

/* The slot holding the key text[start:start+len] (of `kind`/`data`), or the empty slot where
 * it would go. */
static inline __attribute__((always_inline)) Slot *
find_slot(TermTable *self, uint64_t hash, int kind, const void *data, Py_ssize_t start, Py_ssize_t len)
{
    size_t i = (size_t)hash & self->mask;
    for (;;) {
        Slot *s = &self->slots[i];
        if (s->term == NULL) {
            return s;
        }
        if (s->hash == hash && s->key_len == len) {
            const Py_UCS4 *key = self->keys + s->key_at;
            Py_ssize_t j = 0;
            for (; j < len; j++) {
                if (key[j] != PyUnicode_READ(kind, data, start + j)) {
                    break;
                }
            }
            if (j == len) {
                return s;
            }
        }
        i = (i + 1) & self->mask;
    }
}

static int
table_grow(TermTable *self)
{
    Slot *old = self->slots;
    size_t old_cap = self->mask + 1;
    size_t cap = old_cap * 2;
    Slot *slots = PyMem_Calloc(cap, sizeof(Slot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].term != NULL) {
            size_t j = (size_t)old[i].hash & (cap - 1);
            while (slots[j].term != NULL) {
                j = (j + 1) & (cap - 1);
            }
            slots[j] = old[i];
        }
    }
    PyMem_Free(old);
    self->slots = slots;
    self->mask = cap - 1;
    return 0;
}

static PyObject *
TermTable_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) > 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) > 0)) {
        PyErr_SetString(PyExc_TypeError, "TermTable() takes no arguments");
        return NULL;
    }
    TermTable *self = (TermTable *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    if (table_alloc(self, 1024) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
TermTable_dealloc(TermTable *self)
{
    table_release(self);
    PyMem_Free(self->keys);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static uint64_t
hash_span(int kind, const void *data, Py_ssize_t start, Py_ssize_t len)
{
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t j = 0; j < len; j++) {
        h = mix(h, PyUnicode_READ(kind, data, start + j));
    }
    return finish_hash(h);
}

PyDoc_STRVAR(add_doc,
"add(token, term)\n--\n\n"
"Map `token` to `term` (\"\" for a token that gives no term); an existing mapping is replaced.");

static PyObject *
TermTable_add(TermTable *self, PyObject *args)
{
    PyObject *token, *term;
    if (!PyArg_ParseTuple(args, "UU:add", &token, &term)) {
        return NULL;
    }
    int kind = PyUnicode_KIND(token);
    const void *data = PyUnicode_DATA(token);
    Py_ssize_t len = PyUnicode_GET_LENGTH(token);
    uint64_t hash = hash_span(kind, data, 0, len);
    Slot *s = find_slot(self, hash, kind, data, 0, len);
    if (s->term != NULL) {
        Py_INCREF(term);
        Py_SETREF(s->term, term);
        Py_RETURN_NONE;
    }
    if (self->keys_len + len > self->keys_cap) {
        Py_ssize_t cap = self->keys_cap ? self->keys_cap : 4096;
        while (cap < self->keys_len + len) {
            cap *= 2;
        }
        Py_UCS4 *keys = PyMem_Realloc(self->keys, (size_t)cap * sizeof(Py_UCS4));
        if (keys == NULL) {
            return PyErr_NoMemory();
        }
        self->keys = keys;
        self->keys_cap = cap;
    }
    for (Py_ssize_t j = 0; j < len; j++) {
        self->keys[self->keys_len + j] = PyUnicode_READ(kind, data, j);
    }
    s->hash = hash;
    s->key_at = self->keys_len;
    s->key_len = len;
    Py_INCREF(term);
    s->term = term;
    self->keys_len += len;
    self->used++;
    if ((size_t)self->used * 2 > self->mask + 1 && table_grow(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(clear_doc, "clear()\n--\n\nForget every mapping.");

static PyObject *
TermTable_clear(TermTable *self, PyObject *Py_UNUSED(ignored))
{
    TermTable fresh;
    if (table_alloc(&fresh, 1024) < 0) {  /* (first, so that a failure leaves the table whole) */
        return NULL;
    }
    table_release(self);
    self->slots = fresh.slots;
    self->mask = fresh.mask;
    self->used = 0;
    Py_RETURN_NONE;
}

static Py_ssize_t
TermTable_len(TermTable *self)
{
    return self->used;
}

/* ------------------------------------------------------------------------------------------ */
/* Character classes, as sre and str define them */

/* `[^\W_]`: alphanumeric by Unicode (`str.isalnum`) */
static inline int
is_word(Py_UCS4 c)
{
    if (c < 128) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
    return Py_UNICODE_ISALNUM(c);
}

/* `\w` in a str pattern (what `\b` looks at) */
static inline int
is_sre_word(Py_UCS4 c)
{
    return c == '_' || is_word(c);
}

/* `c.islower()` */
static inline int
is_lower(Py_UCS4 c)
{
    return c < 128 ? (c >= 'a' && c <= 'z') : Py_UNICODE_ISLOWER(c);
}

/* `c.isspace()` */
static inline int
is_space(Py_UCS4 c)
{
    return c < 128 ? (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) : Py_UNICODE_ISSPACE(c);
}

static inline int
is_ascii_letter(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* `[^\W_]|'` */
static inline int
is_wordish(Py_UCS4 c)
{
    return c == '\'' || is_word(c);
}

/* A character that keeps a text from being clean (`Analyzer.passage_terms`): a carriage return,
 * a control character (normalize.CONTROL), or one that normalize_text would change in
 * NFKC-normalised text (normalize.QUOTE_OR_INVISIBLE, a lone surrogate). */
static inline int
is_unclean(Py_UCS4 c)
{
    if (c < 128) {
        return c == '\r' || c == 0x7f || (c < 0x20 && c != '\t' && c != '\n');
    }
    switch (c) {
    case 0x2018: case 0x2019: case 0x201a: case 0x201b: case 0x2032:
    case 0x201c: case 0x201d: case 0x201e: case 0x201f: case 0x2033:
    case 0xab: case 0xbb:
    case 0x200b: case 0x200c: case 0x200d: case 0x2060: case 0xfeff: case 0x200e: case 0x200f:
        return 1;
    default:
        return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || (c >= 0xd800 && c <= 0xdfff);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Terms found, and the strings made of them */

/* Per token: its term, or NULL for a separator (a line break in the encoding). The buffer
 * holds a reference to each term: an allocation while it fills or is encoded can run the
 * garbage collector, hence Python code, hence another thread that clears or refills the table
 * the terms came from. */
typedef struct {
    PyObject **items;
    Py_ssize_t len;
    Py_ssize_t cap;
} TermBuffer;

static int
buffer_push(TermBuffer *b, PyObject *term)
{
    if (b->len == b->cap) {
        Py_ssize_t cap = b->cap ? b->cap * 2 : 256;
        PyObject **items = PyMem_Realloc(b->items, (size_t)cap * sizeof(PyObject *));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->items = items;
        b->cap = cap;
    }
    Py_XINCREF(term);
    b->items[b->len++] = term;
    return 0;
}

static void
buffer_release(TermBuffer *b)
{
    for (Py_ssize_t i = 0; i < b->len; i++) {
        Py_XDECREF(b->items[i]);
    }
    PyMem_Free(b->items);
    b->items = NULL;
    b->len = b->cap = 0;
}

/* The encoding of `b` (terms joined by " ", a line break at each separator) and its terms
 * without the separators. */
static PyObject *
encode(TermBuffer *b)
{
    Py_ssize_t length = 0;
    Py_ssize_t n_terms = 0;
    Py_UCS4 maxchar = 127;
    int line_empty = 1;
    for (Py_ssize_t i = 0; i < b->len; i++) {
        PyObject *t = b->items[i];
        if (t == NULL) {
            length += 1;
            line_empty = 1;
            continue;
        }
        length += PyUnicode_GET_LENGTH(t) + (line_empty ? 0 : 1);
        line_empty = 0;
        n_terms++;
        Py_UCS4 m = PyUnicode_MAX_CHAR_VALUE(t);
        if (m > maxchar) {
            maxchar = m;
        }
    }
    PyObject *encoded = PyUnicode_New(length, maxchar);
    PyObject *terms = PyList_New(n_terms);
    if (encoded == NULL || terms == NULL) {
        Py_XDECREF(encoded);
        Py_XDECREF(terms);
        return NULL;
    }
    int kind = PyUnicode_KIND(encoded);
    void *data = PyUnicode_DATA(encoded);
    Py_ssize_t at = 0, k = 0;
    line_empty = 1;
    for (Py_ssize_t i = 0; i < b->len; i++) {
        PyObject *t = b->items[i];
        if (t == NULL) {
            PyUnicode_WRITE(kind, data, at, '\n');
            at++;
            line_empty = 1;
            continue;
        }
        if (!line_empty) {
            PyUnicode_WRITE(kind, data, at, ' ');
            at++;
        }
        line_empty = 0;
        Py_ssize_t n = PyUnicode_GET_LENGTH(t);
        if (kind == PyUnicode_1BYTE_KIND && PyUnicode_KIND(t) == PyUnicode_1BYTE_KIND) {
            memcpy((char *)data + at, PyUnicode_DATA(t), (size_t)n);
        }
        else if (PyUnicode_CopyCharacters(encoded, at, t, 0, n) < 0) {
            Py_DECREF(encoded);
            Py_DECREF(terms);
            return NULL;
        }
        at += n;
        Py_INCREF(t);
        PyList_SET_ITEM(terms, k, t);
        k++;
    }
    return Py_BuildValue("(NN)", encoded, terms);
}

/* ------------------------------------------------------------------------------------------ */
/* Scanning */

/* The terms found so far, in order (NULL for a line break), or once some token is not in its
 * table, the tokens missing from each table (0: plain, 1: mixed case), and no more terms. */
typedef struct {
    TermBuffer found;
    PyObject *missing[2];
} Scan;

static void
scan_release(Scan *sc)
{
    Py_CLEAR(sc->missing[0]);
    Py_CLEAR(sc->missing[1]);
    buffer_release(&sc->found);
}

/* Scan data[start:end] (of `kind`) as if it were a whole string, each token looked up in
 * `table` (missing ones listed under `which`). -1 on error. */
static inline __attribute__((always_inline)) int
scan_range(Scan *sc, TermTable *table, int which, const void *data, Py_ssize_t start_at, Py_ssize_t n,
           const int kind)
{
    Py_ssize_t i = start_at;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!is_word(c)) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        uint64_t h = FNV_OFFSET;
        for (;;) {
            while (i < n && is_word(c = PyUnicode_READ(kind, data, i))) {
                h = mix(h, c);
                i++;
            }
            /* `(?:'[^\W_]+)*`: an apostrophe continues the token only before a word character */
            if (i + 1 < n && c == '\'' && is_word(PyUnicode_READ(kind, data, i + 1))) {
                h = mix(h, '\'');
                i++;
                continue;
            }
            break;
        }
        Slot *s = find_slot(table, finish_hash(h), kind, data, start, i - start);
        if (s->term == NULL) {
            if (sc->missing[which] == NULL && (sc->missing[which] = PyList_New(0)) == NULL) {
                return -1;
            }
            PyObject *token = PyUnicode_FromKindAndData(kind, (const char *)data + start * kind, i - start);
            if (token == NULL || PyList_Append(sc->missing[which], token) < 0) {
                Py_XDECREF(token);
                return -1;
            }
            Py_DECREF(token);
        }
        else if (sc->missing[0] == NULL && sc->missing[1] == NULL && PyUnicode_GET_LENGTH(s->term) > 0) {
            if (buffer_push(&sc->found, s->term) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* analysis.analyzer.DOTTED, `\b(?:[A-Za-z]\.){2,}(?![A-Za-z])`, replaced by its letters in
 * data[a:b] as a string of its own, as `re.sub` does. Returns 1 and a new UCS4 buffer when
 * something matched, 0 when nothing did, -1 on error. (Backtracking never helps the pattern:
 * with fewer repetitions than the most it can take, a letter follows.) */
static inline __attribute__((always_inline)) int
undotted(const void *data, Py_ssize_t a, Py_ssize_t b, Py_UCS4 **out, Py_ssize_t *out_len, const int kind)
{
    Py_UCS4 *buf = NULL;
    Py_ssize_t len = 0, copied = a;
    Py_ssize_t i = a;
    while (i < b) {
        if (is_ascii_letter(PyUnicode_READ(kind, data, i))
                && (i == a || !is_sre_word(PyUnicode_READ(kind, data, i - 1)))) {
            Py_ssize_t j = i;
            while (j + 1 < b && is_ascii_letter(PyUnicode_READ(kind, data, j)) && PyUnicode_READ(kind, data, j + 1) == '.') {
                j += 2;
            }
            if (j - i >= 4 && (j == b || !is_ascii_letter(PyUnicode_READ(kind, data, j)))) {
                if (buf == NULL && (buf = PyMem_Malloc((size_t)(b - a) * sizeof(Py_UCS4))) == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
                for (; copied < i; copied++) {
                    buf[len++] = PyUnicode_READ(kind, data, copied);
                }
                for (; copied < j; copied += 2) {
                    buf[len++] = PyUnicode_READ(kind, data, copied);
                }
                i = j;
                continue;
            }
        }
        i++;
    }
    if (buf == NULL) {
        return 0;
    }
    for (; copied < b; copied++) {
        buf[len++] = PyUnicode_READ(kind, data, copied);
    }
    *out = buf;
    *out_len = len;
    return 1;
}

/* `scan_range` of data[a:b], with its "X.Y." runs rewritten when `dotted` (the text has one's
 * mark). */
static inline __attribute__((always_inline)) int
scan_text(Scan *sc, TermTable *table, int which, const void *data, Py_ssize_t a, Py_ssize_t b, int dotted,
          const int kind)
{
    if (dotted) {
        Py_UCS4 *buf;
        Py_ssize_t len;
        int found = undotted(data, a, b, &buf, &len, kind);
        if (found < 0) {
            return -1;
        }
        if (found) {
            int r = scan_range(sc, table, which, buf, 0, len, PyUnicode_4BYTE_KIND);
            PyMem_Free(buf);
            return r;
        }
    }
    return scan_range(sc, table, which, data, a, b, kind);
}

/* `[plain missing, mixed missing]` */
static PyObject *
missing_lists(Scan *sc)
{
    for (int k = 0; k < 2; k++) {
        if (sc->missing[k] == NULL && (sc->missing[k] = PyList_New(0)) == NULL) {
            return NULL;
        }
    }
    PyObject *result = PyList_New(2);
    if (result != NULL) {
        PyList_SET_ITEM(result, 0, sc->missing[0]);
        PyList_SET_ITEM(result, 1, sc->missing[1]);
        sc->missing[0] = sc->missing[1] = NULL;
    }
    return result;
}

static inline __attribute__((always_inline)) int
any_lower(const void *data, Py_ssize_t a, Py_ssize_t b, const int kind)
{
    for (Py_ssize_t i = a; i < b; i++) {
        if (is_lower(PyUnicode_READ(kind, data, i))) {
            return 1;
        }
    }
    return 0;
}

/* `_only_space_between`: only white space lies between and around the spans, and no token
 * can run across an edge where two meet, so the text's tokens are the spans' run together. */
static inline __attribute__((always_inline)) int
run_together(const void *data, Py_ssize_t n, const Py_ssize_t *spans, Py_ssize_t n_spans, const int kind)
{
    Py_ssize_t prev = 0;
    for (Py_ssize_t k = 0; k < n_spans; k++) {
        Py_ssize_t a = spans[2 * k];
        if (a > prev) {
            for (Py_ssize_t i = prev; i < a; i++) {
                if (!is_space(PyUnicode_READ(kind, data, i))) {
                    return 0;
                }
            }
        }
        else if (a > 0 && a < n && is_wordish(PyUnicode_READ(kind, data, a - 1))
                 && is_wordish(PyUnicode_READ(kind, data, a))) {
            return 0;
        }
        prev = spans[2 * k + 1];
    }
    for (Py_ssize_t i = prev; i < n; i++) {
        if (!is_space(PyUnicode_READ(kind, data, i))) {
            return 0;
        }
    }
    return 1;
}

PyDoc_STRVAR(scan_passage_doc,
"scan_passage(text, spans, plain, mixed)\n--\n\n"
"`sentence_and_passage_terms` of a clean text (see index.analysis.analyzer.Analyzer.passage_terms):\n"
"(encoding, terms), where the encoding holds a line per sentence text[a:b] of `spans`, its\n"
"terms separated by spaces, each sentence analysed on its own; and terms are the whole text's.\n"
"Tokens map through the table for their string's case mix: `plain` (no lower-case letter) or\n"
"`mixed`. Returns [plain missing, mixed missing], lists of the tokens the tables do not map,\n"
"when there are any; and None when the text holds a character that keeps it from being clean\n"
"(a carriage return, a control character, a curly quote, an invisible character, a lone\n"
"surrogate). The caller checks what needs Python: NFKC and nltk's word class.");

static inline __attribute__((always_inline)) PyObject *
scan_passage_kind(PyObject *text, const Py_ssize_t *spans, Py_ssize_t n_spans, TermTable *tables[2], const int kind)
{
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int text_mixed = 0, dotted = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_unclean(c)) {
            Py_RETURN_NONE;
        }
        text_mixed |= is_lower(c);
        /* `\.[A-Za-z]\.`, which every "X.Y." run (analysis.analyzer.DOTTED) contains: without one,
         * no run needs rewriting and sentence terms can run together */
        if (c == '.' && i + 2 < n && is_ascii_letter(PyUnicode_READ(kind, data, i + 1))
                && PyUnicode_READ(kind, data, i + 2) == '.') {
            dotted = 1;
        }
    }
    Scan sc = {{NULL, 0, 0}, {NULL, NULL}};
    int same_mix = 1;
    for (Py_ssize_t k = 0; k < n_spans; k++) {
        Py_ssize_t a = spans[2 * k], b = spans[2 * k + 1];
        int mixed = any_lower(data, a, b, kind);
        same_mix &= mixed == text_mixed;
        if (k > 0 && sc.missing[0] == NULL && sc.missing[1] == NULL && buffer_push(&sc.found, NULL) < 0) {
            goto fail;
        }
        if (scan_text(&sc, tables[mixed], mixed, data, a, b, dotted, kind) < 0) {
            goto fail;
        }
    }
    if (sc.missing[0] != NULL || sc.missing[1] != NULL) {
        PyObject *missing = missing_lists(&sc);
        scan_release(&sc);
        return missing;
    }
    PyObject *sentences = encode(&sc.found);
    scan_release(&sc);
    if (sentences == NULL || (!dotted && same_mix && run_together(data, n, spans, n_spans, kind))) {
        return sentences;
    }
    /* the whole text's terms, from a scan of its own */
    if (scan_text(&sc, tables[text_mixed], text_mixed, data, 0, n, dotted, kind) < 0) {
        Py_DECREF(sentences);
        goto fail;
    }
    if (sc.missing[0] != NULL || sc.missing[1] != NULL) {
        Py_DECREF(sentences);
        PyObject *missing = missing_lists(&sc);
        scan_release(&sc);
        return missing;
    }
    PyObject *whole = encode(&sc.found);
    scan_release(&sc);
    if (whole == NULL) {
        Py_DECREF(sentences);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(2, PyTuple_GET_ITEM(sentences, 0), PyTuple_GET_ITEM(whole, 1));
    Py_DECREF(sentences);
    Py_DECREF(whole);
    return result;
fail:
    scan_release(&sc);
    return NULL;
}

static PyTypeObject TermTableType;

static PyObject *
scan_passage(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *text, *spans_arg;
    TermTable *tables[2];
    if (!PyArg_ParseTuple(args, "UOO!O!:scan_passage", &text, &spans_arg, &TermTableType, &tables[0],
                          &TermTableType, &tables[1])) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(spans_arg, "scan_passage() needs a sequence of (start, end) pairs");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n_spans = PySequence_Fast_GET_SIZE(seq);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t local[64];
    Py_ssize_t *spans = n_spans <= 32 ? local : PyMem_Malloc((size_t)n_spans * 2 * sizeof(Py_ssize_t));
    PyObject *result = NULL;
    if (spans == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n_spans; k++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, k);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "scan_passage() needs (start, end) tuples");
            goto done;
        }
        Py_ssize_t a = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0));
        Py_ssize_t b = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1));
        if ((a == -1 || b == -1) && PyErr_Occurred()) {
            goto done;
        }
        if (a < 0 || b < a || b > n) {
            PyErr_Format(PyExc_ValueError, "span (%zd, %zd) is not within the text's %zd characters", a, b, n);
            goto done;
        }
        spans[2 * k] = a;
        spans[2 * k + 1] = b;
    }
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        result = scan_passage_kind(text, spans, n_spans, tables, PyUnicode_1BYTE_KIND);
        break;
    case PyUnicode_2BYTE_KIND:
        result = scan_passage_kind(text, spans, n_spans, tables, PyUnicode_2BYTE_KIND);
        break;
    default:
        result = scan_passage_kind(text, spans, n_spans, tables, PyUnicode_4BYTE_KIND);
    }
done:
    if (spans != NULL && spans != local) {
        PyMem_Free(spans);
    }
    Py_DECREF(seq);
    return result;
}

static PyMethodDef TermTable_methods[] = {
    {"add", (PyCFunction)TermTable_add, METH_VARARGS, add_doc},
    {"clear", (PyCFunction)TermTable_clear, METH_NOARGS, clear_doc},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods TermTable_as_sequence = {
    .sq_length = (lenfunc)TermTable_len,
};

PyDoc_STRVAR(TermTable_doc,
"TermTable()\n--\n\n"
"Token -> term mappings, and `scan`, which tokenises a text and maps it in one pass.");

static PyTypeObject TermTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "index.analysis._termscan.TermTable",
    .tp_basicsize = sizeof(TermTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = TermTable_doc,
    .tp_new = TermTable_new,
    .tp_dealloc = (destructor)TermTable_dealloc,
    .tp_methods = TermTable_methods,
    .tp_as_sequence = &TermTable_as_sequence,
};

/* ------------------------------------------------------------------------------------------ */
/* Numbering terms */

PyDoc_STRVAR(number_terms_doc,
"number_terms(terms, ids, fresh)\n--\n\n"
"The ids of `terms` (a list of str) as int32 bytes, from the dict `ids` (term -> id); a term\n"
"not in it gets the next id, len(ids), and is appended to the list `fresh`. Ids are thus\n"
"handed out in order of first appearance.");

static PyObject *
number_terms(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *terms, *ids, *fresh;
    if (!PyArg_ParseTuple(args, "O!O!O!:number_terms", &PyList_Type, &terms, &PyDict_Type, &ids,
                          &PyList_Type, &fresh)) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(terms);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int32_t));
    if (out == NULL) {
        return NULL;
    }
    int32_t *at = (int32_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *term = PyList_GET_ITEM(terms, i);
        PyObject *id = PyDict_GetItemWithError(ids, term);
        long value;
        if (id != NULL) {
            value = PyLong_AsLong(id);
            if (value == -1 && PyErr_Occurred()) {
                goto fail;
            }
        }
        else {
            if (PyErr_Occurred()) {
                goto fail;
            }
            Py_ssize_t next = PyDict_GET_SIZE(ids);
            if (next > INT32_MAX) {
                PyErr_SetString(PyExc_OverflowError, "more terms than int32 ids");
                goto fail;
            }
            value = (long)next;
            PyObject *new_id = PyLong_FromLong(value);
            if (new_id == NULL) {
                goto fail;
            }
            int failed = PyDict_SetItem(ids, term, new_id) < 0 || PyList_Append(fresh, term) < 0;
            Py_DECREF(new_id);
            if (failed) {
                goto fail;
            }
        }
        at[i] = (int32_t)value;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Counting words */

PyDoc_STRVAR(count_words_doc,
"count_words(text)\n--\n\n"
"len(text.split()): the runs of characters for which str.isspace does not hold, without\n"
"building the list (passages are cut by word counts, taken of every paragraph and sentence).");

static inline __attribute__((always_inline)) Py_ssize_t
count_words_kind(const void *data, Py_ssize_t n, const int kind)
{
    Py_ssize_t words = 0;
    int in_word = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_space(c)) {
            in_word = 0;
        }
        else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    return words;
}

static PyObject *
count_words(PyObject *Py_UNUSED(module), PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "count_words() needs a str");
        return NULL;
    }
    const void *data = PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    switch (PyUnicode_KIND(arg)) {
    case PyUnicode_1BYTE_KIND:
        return PyLong_FromSsize_t(count_words_kind(data, n, PyUnicode_1BYTE_KIND));
    case PyUnicode_2BYTE_KIND:
        return PyLong_FromSsize_t(count_words_kind(data, n, PyUnicode_2BYTE_KIND));
    default:
        return PyLong_FromSsize_t(count_words_kind(data, n, PyUnicode_4BYTE_KIND));
    }
}

static PyMethodDef module_methods[] = {
    {"number_terms", number_terms, METH_VARARGS, number_terms_doc},
    {"count_words", count_words, METH_O, count_words_doc},
    {"scan_passage", scan_passage, METH_VARARGS, scan_passage_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef termscan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "index.analysis._termscan",
    .m_doc = "Tokenise and map a passage to index terms in one pass, and number terms (see index.analysis.analyzer, term_ids).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__termscan(void)
{
    if (PyType_Ready(&TermTableType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&termscan_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&TermTableType);
    if (PyModule_AddObject(m, "TermTable", (PyObject *)&TermTableType) < 0) {
        Py_DECREF(&TermTableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
