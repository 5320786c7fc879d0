/* Compiled inner loops of BM25Index.top_k: MaxScore dynamic pruning and exact rescoring.
 *
 * Why C and not numba: a serving process that imported numba carried ~125 MB of compiler
 * (llvmlite) in its resident memory and spent ~0.35 s importing it, for two loops of a few
 * dozen lines. Citebot already compiles one C module at install (analysis/_termscan.c).
 *
 * Each query term is given as its own posting list: a buffer of ascending uint32 doc ids and
 * a buffer of term frequencies (uint16 or uint32, told apart by the buffer's item size), so
 * the lists can be slices of in-memory arrays or blocks read from the index file on demand.
 * The per-posting score factor ("impact") tf*(k1+1)/(tf+norm[d]) is computed here in double
 * from tf and the float64 norm, in the operation order of rank_bm25's expression, instead of
 * being stored (4 bytes per posting of resident memory before).
 *
 * Functions (all release the GIL while they loop):
 *   max_impact(doc_ids, tfs, norm, k1p1) -> float
 *   maxscore_candidates(doc_lists, tf_lists, norm, k1p1, weights, bounds, k, margin) -> bytes (int64)
 *   exact_scores(doc_lists, tf_lists, norm, idfs, token_slots, cand, k1p1) -> bytes (float64)
 * See index/ranking/maxscore.py for the contract each one keeps.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_buffer docs;
    Py_buffer tfs;
    const uint32_t *doc;
    const void *tf;
    int tf_wide; /* 1: uint32 frequencies, 0: uint16 */
    Py_ssize_t n;
} PostingList;

static inline double tf_at(const PostingList *p, Py_ssize_t i) {
    return p->tf_wide ? (double)((const uint32_t *)p->tf)[i] : (double)((const uint16_t *)p->tf)[i];
}

/* Same operations, same order as rank_bm25: (tf * (k1 + 1)) / (tf + norm). */
static inline double impact(double tf, double k1p1, double norm) { return (tf * k1p1) / (tf + norm); }

static int get_buffer(PyObject *obj, Py_buffer *view, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous buffer", what);
        return -1;
    }
    return 0;
}

/* Fill `p` from a doc-id buffer and a tf buffer of the same length. */
static int open_list(PyObject *docs, PyObject *tfs, PostingList *p) {
    memset(p, 0, sizeof(*p));
    if (get_buffer(docs, &p->docs, "doc ids") < 0) return -1;
    if (get_buffer(tfs, &p->tfs, "term frequencies") < 0) {
        PyBuffer_Release(&p->docs);
        return -1;
    }
    if (p->docs.itemsize != 4 || (p->tfs.itemsize != 2 && p->tfs.itemsize != 4) ||
        p->docs.len / 4 != p->tfs.len / p->tfs.itemsize) {
        PyBuffer_Release(&p->docs);
        PyBuffer_Release(&p->tfs);
        PyErr_SetString(PyExc_ValueError, "a posting list needs uint32 doc ids and as many uint16/uint32 tfs");
        return -1;
    }
    p->doc = (const uint32_t *)p->docs.buf;
    p->tf = p->tfs.buf;
    p->tf_wide = p->tfs.itemsize == 4;
    p->n = p->docs.len / 4;
    return 0;
}

static void close_lists(PostingList *lists, Py_ssize_t m) {
    for (Py_ssize_t j = 0; j < m; j++) {
        PyBuffer_Release(&lists[j].docs);
        PyBuffer_Release(&lists[j].tfs);
    }
    PyMem_Free(lists);
}

/* The m posting lists of two equal-length sequences of buffers; NULL with an exception set. */
static PostingList *open_lists(PyObject *doc_lists, PyObject *tf_lists, Py_ssize_t *m_out) {
    PyObject *ds = PySequence_Fast(doc_lists, "doc_lists must be a sequence");
    if (ds == NULL) return NULL;
    PyObject *ts = PySequence_Fast(tf_lists, "tf_lists must be a sequence");
    if (ts == NULL) {
        Py_DECREF(ds);
        return NULL;
    }
    Py_ssize_t m = PySequence_Fast_GET_SIZE(ds);
    PostingList *lists = NULL;
    if (PySequence_Fast_GET_SIZE(ts) != m) {
        PyErr_SetString(PyExc_ValueError, "doc_lists and tf_lists differ in length");
        goto done;
    }
    lists = PyMem_Calloc(m ? m : 1, sizeof(PostingList));
    if (lists == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        if (open_list(PySequence_Fast_GET_ITEM(ds, j), PySequence_Fast_GET_ITEM(ts, j), &lists[j]) < 0) {
            close_lists(lists, j);
            lists = NULL;
            goto done;
        }
    }
    *m_out = m;
done:
    Py_DECREF(ds);
    Py_DECREF(ts);
    return lists;
}

/* A float64 buffer of doubles: norm, weights, bounds, idfs. */
static int get_doubles(PyObject *obj, Py_buffer *view, const char *what) {
    if (get_buffer(obj, view, what) < 0) return -1;
    if (view->itemsize != 8 || (view->format && strcmp(view->format, "d") != 0)) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s must be float64", what);
        return -1;
    }
    return 0;
}

static int get_int64s(PyObject *obj, Py_buffer *view, const char *what) {
    if (get_buffer(obj, view, what) < 0) return -1;
    if (view->itemsize != 8 || (view->format && view->format[0] == 'd')) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_TypeError, "%s must be int64", what);
        return -1;
    }
    return 0;
}

/* A call's numeric argument buffers, acquired in order and released together, however far the
 * acquiring got: `Args held = {0}; if ((norm = hold(&held, obj, "norm", get_doubles)) == NULL)
 * goto done; ... done: release_args(&held);`. */
#define MAX_ARGS 4
typedef struct {
    Py_buffer views[MAX_ARGS];
    int held;
} Args;

typedef int (*BufferGetter)(PyObject *, Py_buffer *, const char *);

static const Py_buffer *hold(Args *a, PyObject *obj, const char *what, BufferGetter get) {
    if (a->held == MAX_ARGS) {
        PyErr_SetString(PyExc_SystemError, "too many buffer arguments");
        return NULL;
    }
    if (get(obj, &a->views[a->held], what) < 0) return NULL;
    return &a->views[a->held++];
}

static void release_args(Args *a) {
    while (a->held > 0) PyBuffer_Release(&a->views[--a->held]);
}

/* Doc ids must be < len(norm) for every list: checked once per call, O(m) (lists ascend). */
static int check_bounds(const PostingList *lists, Py_ssize_t m, Py_ssize_t n_docs) {
    for (Py_ssize_t j = 0; j < m; j++) {
        if (lists[j].n && (Py_ssize_t)lists[j].doc[lists[j].n - 1] >= n_docs) {
            PyErr_SetString(PyExc_ValueError, "a posting's doc id is out of range");
            return -1;
        }
    }
    return 0;
}

/* First position in doc[lo:hi] (ascending) holding a doc id >= d: galloping, then binary
 * search (successive probes of one list move forward, usually a short way). */
static inline Py_ssize_t forward(const uint32_t *doc, Py_ssize_t lo, Py_ssize_t hi, int64_t d) {
    Py_ssize_t step = 1, bound = lo;
    while (bound < hi && (int64_t)doc[bound] < d) {
        lo = bound + 1;
        bound = lo + step;
        step *= 2;
    }
    if (bound > hi) bound = hi;
    while (lo < bound) {
        Py_ssize_t mid = lo + (bound - lo) / 2;
        if ((int64_t)doc[mid] < d)
            lo = mid + 1;
        else
            bound = mid;
    }
    return lo;
}

/* Insert into a min-heap of capacity cap holding the largest values seen. */
static Py_ssize_t heap_push(double *heap, Py_ssize_t cap, Py_ssize_t size, double value) {
    Py_ssize_t i;
    if (size < cap) {
        i = size;
        heap[i] = value;
        while (i > 0) {
            Py_ssize_t parent = (i - 1) / 2;
            if (heap[parent] <= heap[i]) break;
            double t = heap[parent];
            heap[parent] = heap[i];
            heap[i] = t;
            i = parent;
        }
        return size + 1;
    }
    if (value <= heap[0]) return size;
    heap[0] = value;
    i = 0;
    for (;;) {
        Py_ssize_t left = 2 * i + 1, small;
        if (left >= cap) break;
        small = left;
        if (left + 1 < cap && heap[left + 1] < heap[left]) small = left + 1;
        if (heap[i] <= heap[small]) break;
        double t = heap[i];
        heap[i] = heap[small];
        heap[small] = t;
        i = small;
    }
    return size;
}

static PyObject *py_max_impact(PyObject *self, PyObject *args) {
    PyObject *docs, *tfs, *norm_obj;
    double k1p1;
    if (!PyArg_ParseTuple(args, "OOOd", &docs, &tfs, &norm_obj, &k1p1)) return NULL;
    PostingList p;
    if (open_list(docs, tfs, &p) < 0) return NULL;
    Args held = {0};
    const Py_buffer *norm = hold(&held, norm_obj, "norm", get_doubles);
    double best = 0.0;
    int ok = norm != NULL && check_bounds(&p, 1, norm->len / 8) == 0;
    if (ok) {
        const double *nrm = (const double *)norm->buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < p.n; i++) {
            double v = impact(tf_at(&p, i), k1p1, nrm[p.doc[i]]);
            if (v > best) best = v;
        }
        Py_END_ALLOW_THREADS
    }
    release_args(&held);
    PyBuffer_Release(&p.docs);
    PyBuffer_Release(&p.tfs);
    return ok ? PyFloat_FromDouble(best) : NULL;
}

typedef struct {
    int64_t *docs;
    double *scores;
    Py_ssize_t n, cap;
} Candidates;

static int cand_add(Candidates *c, int64_t d, double score) {
    if (c->n == c->cap) {
        Py_ssize_t cap = c->cap ? 2 * c->cap : 1024;
        int64_t *docs = realloc(c->docs, cap * sizeof(int64_t));
        if (docs == NULL) return -1;
        c->docs = docs;
        double *scores = realloc(c->scores, cap * sizeof(double));
        if (scores == NULL) return -1;
        c->scores = scores;
        c->cap = cap;
    }
    c->docs[c->n] = d;
    c->scores[c->n] = score;
    c->n++;
    return 0;
}

/* The MaxScore loop (see maxscore.py); returns the number of candidates kept at the front of
 * c->docs, or -1 when out of memory. Runs without the GIL. */
static Py_ssize_t maxscore_loop(const PostingList *lists, Py_ssize_t m, const double *norm, double k1p1,
                                const double *weights, const double *bounds, Py_ssize_t k, double margin,
                                Candidates *c) {
    Py_ssize_t *ptr = calloc(m ? m : 1, sizeof(Py_ssize_t));
    double *prefix = calloc(m + 1, sizeof(double));
    double *heap = calloc(k, sizeof(double));
    Py_ssize_t result = -1;
    if (ptr == NULL || prefix == NULL || heap == NULL) goto done;
    /* prefix[j] = upper bound of a document's score from terms 0..j-1 (rounded up a hair, as
     * float sums in another order may differ in the last bit). */
    for (Py_ssize_t j = 0; j < m; j++) prefix[j + 1] = (prefix[j] + bounds[j]) * (1.0 + 1e-12);
    Py_ssize_t size = 0, essential = 0;
    double prune = 0.0;
    const int64_t sentinel = INT64_MAX;
    for (;;) {
        while (essential < m && prefix[essential + 1] < prune) essential++;
        if (essential == m) break;
        int64_t d = sentinel;
        for (Py_ssize_t j = essential; j < m; j++)
            if (ptr[j] < lists[j].n && (int64_t)lists[j].doc[ptr[j]] < d) d = lists[j].doc[ptr[j]];
        if (d == sentinel) break;
        double score = 0.0;
        for (Py_ssize_t j = m - 1; j >= essential; j--) {
            const PostingList *p = &lists[j];
            if (ptr[j] < p->n && (int64_t)p->doc[ptr[j]] == d) {
                score += weights[j] * impact(tf_at(p, ptr[j]), k1p1, norm[d]);
                ptr[j]++;
            }
        }
        for (Py_ssize_t j = essential - 1; j >= 0; j--) {
            const PostingList *p = &lists[j];
            if (score + prefix[j + 1] < prune) {
                score = -1.0;
                break;
            }
            ptr[j] = forward(p->doc, ptr[j], p->n, d);
            if (ptr[j] < p->n && (int64_t)p->doc[ptr[j]] == d)
                score += weights[j] * impact(tf_at(p, ptr[j]), k1p1, norm[d]);
        }
        if (score < prune || score <= 0.0) continue;
        if (cand_add(c, d, score) < 0) goto done;
        size = heap_push(heap, k, size, score);
        if (size == k) prune = heap[0] * (1.0 - margin);
    }
    double final = size == k ? heap[0] * (1.0 - margin) : 0.0;
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < c->n; i++)
        if (c->scores[i] >= final) c->docs[kept++] = c->docs[i];
    result = kept;
done:
    free(ptr);
    free(prefix);
    free(heap);
    return result;
}

static PyObject *py_maxscore_candidates(PyObject *self, PyObject *args) {
    PyObject *doc_lists, *tf_lists, *norm_obj, *weights_obj, *bounds_obj;
    double k1p1, margin;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOOdOOnd", &doc_lists, &tf_lists, &norm_obj, &k1p1, &weights_obj, &bounds_obj, &k,
                          &margin))
        return NULL;
    if (k <= 0) {
        PyErr_SetString(PyExc_ValueError, "k must be positive");
        return NULL;
    }
    Py_ssize_t m = 0;
    PostingList *lists = open_lists(doc_lists, tf_lists, &m);
    if (lists == NULL) return NULL;
    Args held = {0};
    PyObject *out = NULL;
    const Py_buffer *norm, *weights, *bounds;
    if ((norm = hold(&held, norm_obj, "norm", get_doubles)) == NULL ||
        (weights = hold(&held, weights_obj, "weights", get_doubles)) == NULL ||
        (bounds = hold(&held, bounds_obj, "bounds", get_doubles)) == NULL)
        goto done;
    if (weights->len / 8 != m || bounds->len / 8 != m) {
        PyErr_SetString(PyExc_ValueError, "weights and bounds need one value per posting list");
        goto done;
    }
    if (check_bounds(lists, m, norm->len / 8) < 0) goto done;
    Candidates c = {0};
    Py_ssize_t kept;
    Py_BEGIN_ALLOW_THREADS
    kept = maxscore_loop(lists, m, (const double *)norm->buf, k1p1, (const double *)weights->buf,
                         (const double *)bounds->buf, k, margin, &c);
    Py_END_ALLOW_THREADS
    if (kept < 0)
        PyErr_NoMemory();
    else
        out = PyBytes_FromStringAndSize((const char *)c.docs, kept * (Py_ssize_t)sizeof(int64_t));
    free(c.docs);
    free(c.scores);
done:
    release_args(&held);
    close_lists(lists, m);
    return out;
}

static PyObject *py_exact_scores(PyObject *self, PyObject *args) {
    PyObject *doc_lists, *tf_lists, *norm_obj, *idfs_obj, *slots_obj, *cand_obj;
    double k1p1;
    if (!PyArg_ParseTuple(args, "OOOOOOd", &doc_lists, &tf_lists, &norm_obj, &idfs_obj, &slots_obj, &cand_obj, &k1p1))
        return NULL;
    Py_ssize_t m = 0;
    PostingList *lists = open_lists(doc_lists, tf_lists, &m);
    if (lists == NULL) return NULL;
    Args held = {0};
    PyObject *out = NULL;
    double *contrib = NULL;
    const Py_buffer *norm, *idfs, *slots, *cand;
    if ((norm = hold(&held, norm_obj, "norm", get_doubles)) == NULL ||
        (idfs = hold(&held, idfs_obj, "idfs", get_doubles)) == NULL ||
        (slots = hold(&held, slots_obj, "token_slots", get_int64s)) == NULL ||
        (cand = hold(&held, cand_obj, "cand", get_int64s)) == NULL)
        goto done;
    Py_ssize_t n = cand->len / 8, n_slots = slots->len / 8, n_docs = norm->len / 8;
    const int64_t *cd = (const int64_t *)cand->buf, *sl = (const int64_t *)slots->buf;
    if (idfs->len / 8 != m) {
        PyErr_SetString(PyExc_ValueError, "idfs needs one value per posting list");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n_slots; i++)
        if (sl[i] < 0 || sl[i] >= m) {
            PyErr_SetString(PyExc_ValueError, "a token slot is out of range");
            goto done;
        }
    for (Py_ssize_t i = 0; i < n; i++)
        if (cd[i] < 0 || cd[i] >= n_docs || (i && cd[i] <= cd[i - 1])) {
            PyErr_SetString(PyExc_ValueError, "cand must be ascending doc ids in range");
            goto done;
        }
    if (check_bounds(lists, m, n_docs) < 0) goto done;
    out = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(double));
    contrib = calloc((size_t)(m ? m : 1) * (size_t)(n ? n : 1), sizeof(double));
    if (out == NULL || contrib == NULL) {
        Py_CLEAR(out);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    double *res = (double *)PyBytes_AS_STRING(out);
    const double *nrm = (const double *)norm->buf, *idf = (const double *)idfs->buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < m; j++) {
        const PostingList *p = &lists[j];
        Py_ssize_t lo = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t d = cd[i];
            lo = forward(p->doc, lo, p->n, d);
            if (lo < p->n && (int64_t)p->doc[lo] == d) contrib[j * n + i] = idf[j] * impact(tf_at(p, lo), k1p1, nrm[d]);
        }
    }
    /* Summed over the query's tokens in order, as rank_bm25 does (absent terms add 0.0). */
    memset(res, 0, n * sizeof(double));
    for (Py_ssize_t s = 0; s < n_slots; s++)
        for (Py_ssize_t i = 0; i < n; i++) res[i] += contrib[sl[s] * n + i];
    Py_END_ALLOW_THREADS
done:
    free(contrib);
    release_args(&held);
    close_lists(lists, m);
    return out;
}

static PyMethodDef maxscore_methods[] = {
    {"max_impact", py_max_impact, METH_VARARGS, "Largest tf*(k1+1)/(tf+norm[d]) over one posting list."},
    {"maxscore_candidates", py_maxscore_candidates, METH_VARARGS,
     "Doc ids (int64 bytes) whose approximate score is within margin of the k-th best, by MaxScore."},
    {"exact_scores", py_exact_scores, METH_VARARGS,
     "Exact float64 BM25 scores (bytes) of ascending candidate doc ids, summed in query-token order."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef maxscore_module = {PyModuleDef_HEAD_INIT, "_maxscore",
                                             "MaxScore top-k and exact rescoring over posting lists.", -1,
                                             maxscore_methods};

PyMODINIT_FUNC PyInit__maxscore(void) { return PyModule_Create(&maxscore_module); }
