/* Tokenise a passage and map its tokens to index terms in one pass, without a Python object
 * per token.
 *
 * Building a million-passage index runs the analyser over ~100 million tokens. In Python each
 * token became a string object (findall or split), was hashed, looked up in the analyser's memo
 * and joined into the stored sentence encoding: ~300 ns a token, a third of the build's CPU.
 * `TermTable.scan` does the same in C over the text where it lies: it finds the tokens of
 * `[^\W_]+(?:'[^\W_]+)*|\x00` exactly as Python's `re` does (a word character is one for which
 * `str.isalnum()` holds, as sre decides), looks each up in its own hash table of token -> term
 * (filled from Python with the analyser's terms: stemming stays in Python), and builds the
 * result strings once.
 *
 * It is result-identical to `fastanalysis.FastTerms.clean_text_terms`'s Python path
 * (tests/test_scale_termscan.py): this file is part of the analysis code fingerprint.
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
    table_release(self);
    if (table_alloc(self, 1024) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static Py_ssize_t
TermTable_len(TermTable *self)
{
    return self->used;
}

/* ------------------------------------------------------------------------------------------ */
/* Scanning */

/* `[^\W_]` as sre reads a str pattern: alphanumeric by Unicode (`str.isalnum`). */
static inline int
is_word(Py_UCS4 c)
{
    if (c < 128) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
    return Py_UNICODE_ISALNUM(c);
}

/* Per token: its term, or NULL for a separator (a line break in the encoding). */
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
    b->items[b->len++] = term;
    return 0;
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

PyDoc_STRVAR(scan_doc,
"scan(text)\n--\n\n"
"Find the tokens of `[^\\W_]+(?:'[^\\W_]+)*|\\x00` in `text`, as `re.findall` would. When the\n"
"table maps every word token, return (encoding, terms): the tokens' non-empty terms, joined\n"
"by \" \" with a line break for each NUL, and those terms as a list (without the line breaks).\n"
"Otherwise return the list of the word tokens it does not map, in order of appearance.");

/* `scan` for text of one storage kind; inlined three times, so that each copy reads its
 * characters directly instead of switching on the kind at every character. */
static inline __attribute__((always_inline)) PyObject *
scan_kind(TermTable *self, PyObject *arg, const int kind)
{
    const void *data = PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    TermBuffer found = {NULL, 0, 0};
    PyObject *missing = NULL;
    PyObject *result = NULL;
    Py_ssize_t i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == 0) {
            if (missing == NULL && buffer_push(&found, NULL) < 0) {
                goto done;
            }
            i++;
            continue;
        }
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
        Slot *s = find_slot(self, finish_hash(h), kind, data, start, i - start);
        if (s->term == NULL) {
            if (missing == NULL && (missing = PyList_New(0)) == NULL) {
                goto done;
            }
            PyObject *token = PyUnicode_Substring(arg, start, i);
            if (token == NULL || PyList_Append(missing, token) < 0) {
                Py_XDECREF(token);
                goto done;
            }
            Py_DECREF(token);
        }
        else if (missing == NULL && PyUnicode_GET_LENGTH(s->term) > 0) {
            if (buffer_push(&found, s->term) < 0) {
                goto done;
            }
        }
    }
    if (missing != NULL) {
        result = missing;
        missing = NULL;
    }
    else {
        result = encode(&found);
    }
done:
    Py_XDECREF(missing);
    PyMem_Free(found.items);
    return result;
}

static PyObject *
TermTable_scan(TermTable *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "scan() needs a str");
        return NULL;
    }
    switch (PyUnicode_KIND(arg)) {
    case PyUnicode_1BYTE_KIND:
        return scan_kind(self, arg, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return scan_kind(self, arg, PyUnicode_2BYTE_KIND);
    default:
        return scan_kind(self, arg, PyUnicode_4BYTE_KIND);
    }
}

static PyMethodDef TermTable_methods[] = {
    {"add", (PyCFunction)TermTable_add, METH_VARARGS, add_doc},
    {"clear", (PyCFunction)TermTable_clear, METH_NOARGS, clear_doc},
    {"scan", (PyCFunction)TermTable_scan, METH_O, scan_doc},
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
    .tp_name = "index._termscan.TermTable",
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
        int space = c < 128 ? (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f))
                            : Py_UNICODE_ISSPACE(c);
        if (space) {
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
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef termscan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "index._termscan",
    .m_doc = "Tokenise and map a passage to index terms in one pass, and number terms (see fastanalysis, term_ids).",
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
