/* TER with shifts (tercom / sacrebleu semantics) in C: the fast path behind evalkit.spans.align.
 *
 * The algorithm, decisions and limits are exactly those of the pure-Python fallback _ter_py.py (read its
 * module docstring); both are checked against sacrebleu in tests/test_align.py. Differences are only in
 * storage: each distance-matrix row keeps just its beam window (the last row and row 0 are full), so
 * memory is O(n * beam + m) instead of O(n * m).
 *
 * ter(hyp: sequence of int, ref: sequence of int, shifts: bool = True) ->
 *     (num_shifts, edit_distance, trace: str, perm: list[int], shifts: list[(start, length, target)])
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INF 1000000000 /* above any real distance; INF + 1 never wins a comparison, as in sacrebleu */
#define MAX_SHIFT_SIZE 10
#define MAX_SHIFT_DIST 50
#define BEAM_WIDTH 25
#define MAX_SHIFT_CANDIDATES 1000

enum { DIAG_OK, DIAG_SUB, UP, LEFT, UNDEF };

typedef struct {
    Py_ssize_t n, m;
    const int *ref;
    Py_ssize_t *lo, *hi, *off; /* window [lo, hi) of row i, stored from off[i] (shared by both matrices) */
} Layout;

typedef struct {
    int *cost;
    unsigned char *op;
} Rows;

static int layout_init(Layout *L, const int *ref, Py_ssize_t n, Py_ssize_t m) {
    double ratio = n ? (double)m / (double)n : 1.0;
    Py_ssize_t beam = BEAM_WIDTH;
    Py_ssize_t i, total = m + 1;
    if (BEAM_WIDTH < ratio / 2) beam = (Py_ssize_t)ceil(ratio / 2 + BEAM_WIDTH);
    L->n = n;
    L->m = m;
    L->ref = ref;
    L->lo = malloc(sizeof(Py_ssize_t) * (n + 1));
    L->hi = malloc(sizeof(Py_ssize_t) * (n + 1));
    L->off = malloc(sizeof(Py_ssize_t) * (n + 2));
    if (!L->lo || !L->hi || !L->off) return -1;
    L->lo[0] = 0;
    L->hi[0] = m + 1;
    L->off[0] = 0;
    for (i = 1; i <= n; i++) {
        Py_ssize_t pd = (Py_ssize_t)floor((double)i * ratio);
        Py_ssize_t lo = pd - beam > 0 ? pd - beam : 0;
        Py_ssize_t hi = pd + beam < m + 1 ? pd + beam : m + 1;
        if (i == n) hi = m + 1;
        if (hi < lo) hi = lo;
        L->lo[i] = lo;
        L->hi[i] = hi;
        L->off[i] = total;
        total += hi - lo;
    }
    L->off[n + 1] = total;
    return 0;
}

static void layout_free(Layout *L) {
    free(L->lo);
    free(L->hi);
    free(L->off);
}

static int rows_init(Rows *R, const Layout *L) {
    Py_ssize_t total = L->off[L->n + 1], j;
    R->cost = malloc(sizeof(int) * (total ? total : 1));
    R->op = malloc(total ? total : 1);
    if (!R->cost || !R->op) return -1;
    for (j = 0; j <= L->m; j++) {
        R->cost[j] = (int)j;
        R->op[j] = LEFT;
    }
    return 0;
}

static void rows_free(Rows *R) {
    free(R->cost);
    free(R->op);
}

/* Rows first+1..n of `self` for hyp; row `first` is read from `base`. Returns the bottom-right cost. */
static int fill(const Layout *L, Rows *self, const Rows *base, const int *hyp, Py_ssize_t first, int with_ops) {
    const Py_ssize_t n = L->n, m = L->m;
    const int *ref = L->ref;
    const int *prev = base->cost + L->off[first];
    Py_ssize_t plo = L->lo[first], phi = L->hi[first], i, j;
    if (first >= n) return base->cost[L->off[n] + m - L->lo[n]];
    for (i = first + 1; i <= n; i++) {
        const Py_ssize_t lo = L->lo[i], hi = L->hi[i];
        int *row = self->cost + L->off[i];
        unsigned char *orow = self->op + L->off[i];
        const int w = hyp[i - 1];
        int left = INF;
        for (j = lo; j < hi; j++) {
            int up = (j >= plo && j < phi) ? prev[j - plo] : INF;
            int c, o;
            if (j == 0) {
                c = up + 1;
                o = UP;
            } else {
                int diag = (j - 1 >= plo && j - 1 < phi) ? prev[j - 1 - plo] : INF;
                c = INF;
                o = UNDEF;
                if (w == ref[j - 1]) {
                    if (c > diag) { c = diag; o = DIAG_OK; }
                } else if (c > diag + 1) {
                    c = diag + 1;
                    o = DIAG_SUB;
                }
                if (c > up + 1) { c = up + 1; o = UP; }
                if (c > left + 1) { c = left + 1; o = LEFT; }
            }
            row[j - lo] = c;
            if (with_ops) orow[j - lo] = (unsigned char)o;
            left = c;
        }
        prev = row;
        plo = lo;
        phi = hi;
    }
    return self->cost[L->off[n] + m - L->lo[n]];
}

/* Alignment trace (' ', 's', 'i', 'd') into out (capacity n + m); returns its length or -1 off the beam. */
static Py_ssize_t backtrace(const Layout *L, const Rows *R, char *out) {
    Py_ssize_t i = L->n, j = L->m, k = 0, a, b;
    while (i > 0 || j > 0) {
        int o = (j >= L->lo[i] && j < L->hi[i]) ? R->op[L->off[i] + j - L->lo[i]] : UNDEF;
        if (o == DIAG_OK || o == DIAG_SUB) {
            out[k++] = o == DIAG_OK ? ' ' : 's';
            i--;
            j--;
        } else if (o == UP) {
            out[k++] = 'i';
            i--;
        } else if (o == LEFT) {
            out[k++] = 'd';
            j--;
        } else {
            return -1;
        }
    }
    for (a = 0, b = k - 1; a < b; a++, b--) {
        char t = out[a];
        out[a] = out[b];
        out[b] = t;
    }
    return k;
}

static Py_ssize_t clampi(Py_ssize_t x, Py_ssize_t n) { return x < 0 ? 0 : (x > n ? n : x); }

static Py_ssize_t copy_slice(int *dst, Py_ssize_t k, const int *src, Py_ssize_t a, Py_ssize_t b, Py_ssize_t n) {
    a = clampi(a, n);
    b = clampi(b, n);
    if (b > a) {
        memcpy(dst + k, src + a, sizeof(int) * (b - a));
        k += b - a;
    }
    return k;
}

/* tercom's shift of words[start:start+length] to target, with Python slice semantics. */
static void perform_shift(const int *w, int *out, Py_ssize_t n, Py_ssize_t s, Py_ssize_t len, Py_ssize_t t) {
    Py_ssize_t k = 0;
    if (t < s) {
        k = copy_slice(out, k, w, 0, t, n);
        k = copy_slice(out, k, w, s, s + len, n);
        k = copy_slice(out, k, w, t, s, n);
        k = copy_slice(out, k, w, s + len, n, n);
    } else if (t > s + len) {
        k = copy_slice(out, k, w, 0, s, n);
        k = copy_slice(out, k, w, s + len, t, n);
        k = copy_slice(out, k, w, s, s + len, n);
        k = copy_slice(out, k, w, t, n, n);
    } else {
        k = copy_slice(out, k, w, 0, s, n);
        k = copy_slice(out, k, w, s + len, len + t, n);
        k = copy_slice(out, k, w, s, s + len, n);
        k = copy_slice(out, k, w, len + t, n, n);
    }
}

typedef struct {
    Py_ssize_t num_shifts;
    int distance;
    char *trace;
    Py_ssize_t trace_len;
    int *perm;
    Py_ssize_t *shifts; /* 3 per shift */
} Result;

/* Returns 0, -1 (out of memory) or -2 (backtrace left the beam). Runs without the GIL. */
static int ter_core(const int *hyp, Py_ssize_t n, const int *ref, Py_ssize_t m, int do_shifts, Result *res) {
    Layout L = {0};
    Rows cur = {0}, scratch = {0};
    int *words = NULL, *shifted = NULL, *best_words = NULL, *tmp_perm = NULL, *align = NULL;
    int *hyp_err = NULL, *ref_err = NULL, *pos_start = NULL, *pos = NULL;
    Py_ssize_t vocab = 0, i, j, checked = 0, cap_shifts = 16;
    int rc = -1, score;

    res->num_shifts = 0;
    res->trace = malloc(n + m + 1);
    res->perm = malloc(sizeof(int) * (n ? n : 1));
    res->shifts = malloc(sizeof(Py_ssize_t) * 3 * cap_shifts);
    if (!res->trace || !res->perm || !res->shifts) goto done;
    for (i = 0; i < n; i++) res->perm[i] = (int)i;
    if (m == 0) {
        memset(res->trace, 'i', n);
        res->trace_len = n;
        res->distance = (int)n;
        rc = 0;
        goto done;
    }

    /* Reference positions per word id (CSR, ascending): the only places a hyp block can match. */
    for (i = 0; i < n; i++) if (hyp[i] + 1 > vocab) vocab = hyp[i] + 1;
    for (j = 0; j < m; j++) if (ref[j] + 1 > vocab) vocab = ref[j] + 1;
    pos_start = calloc(vocab + 1, sizeof(int));
    pos = malloc(sizeof(int) * m);
    if (!pos_start || !pos) goto done;
    for (j = 0; j < m; j++) pos_start[ref[j] + 1]++;
    for (i = 0; i < vocab; i++) pos_start[i + 1] += pos_start[i];
    {
        int *fillp = malloc(sizeof(int) * (vocab ? vocab : 1));
        if (!fillp) goto done;
        memcpy(fillp, pos_start, sizeof(int) * vocab);
        for (j = 0; j < m; j++) pos[fillp[ref[j]]++] = (int)j;
        free(fillp);
    }

    if (layout_init(&L, ref, n, m) < 0 || rows_init(&cur, &L) < 0 || rows_init(&scratch, &L) < 0) goto done;
    words = malloc(sizeof(int) * (n ? n : 1));
    shifted = malloc(sizeof(int) * (n ? n : 1));
    best_words = malloc(sizeof(int) * (n ? n : 1));
    tmp_perm = malloc(sizeof(int) * (n ? n : 1));
    align = malloc(sizeof(int) * m);
    hyp_err = malloc(sizeof(int) * (n + 1));
    ref_err = malloc(sizeof(int) * (m + 1));
    if (!words || !shifted || !best_words || !tmp_perm || !align || !hyp_err || !ref_err) goto done;
    memcpy(words, hyp, sizeof(int) * n);
    score = fill(&L, &cur, &cur, words, 0, 1);

    while (do_shifts) {
        Py_ssize_t tl = backtrace(&L, &cur, res->trace), ph = -1, pr = -1, sh, k;
        int have_best = 0, stop = 0;
        long long b_gain = 0, b_len = 0, b_sh = 0, b_idx = 0;
        if (tl < 0) { rc = -2; goto done; }
        hyp_err[0] = 0;
        ref_err[0] = 0;
        for (k = 0; k < tl; k++) {
            char t = res->trace[k];
            if (t == ' ' || t == 's') {
                int bad = t == 's';
                ph++;
                pr++;
                align[pr] = (int)ph;
                hyp_err[ph + 1] = hyp_err[ph] + bad;
                ref_err[pr + 1] = ref_err[pr] + bad;
            } else if (t == 'i') {
                ph++;
                hyp_err[ph + 1] = hyp_err[ph] + 1;
            } else {
                pr++;
                align[pr] = (int)ph;
                ref_err[pr + 1] = ref_err[pr] + 1;
            }
        }

        for (sh = 0; sh < n && !stop; sh++) {
            int w = words[sh];
            Py_ssize_t p, pend = pos_start[w + 1];
            for (p = pos_start[w]; p < pend && !stop; p++) {
                Py_ssize_t sr = pos[p], length = 0;
                if (sr < sh - MAX_SHIFT_DIST) continue;
                if (sr > sh + MAX_SHIFT_DIST) break;
                while (words[sh + length] == ref[sr + length] && length < MAX_SHIFT_SIZE) {
                    length++;
                    if (hyp_err[sh + length] - hyp_err[sh] && ref_err[sr + length] - ref_err[sr]
                        && !(sh <= align[sr] && align[sr] < sh + length)) {
                        Py_ssize_t off, idx, prev_idx = -1;
                        for (off = -1; off < length; off++) {
                            Py_ssize_t first;
                            long long gain;
                            idx = (sr + off == -1) ? 0 : align[sr + off] + 1;
                            if (idx == prev_idx) continue;
                            prev_idx = idx;
                            perform_shift(words, shifted, n, sh, length, idx);
                            first = sh < idx ? sh : idx;
                            while (first < n && words[first] == shifted[first]) first++;
                            gain = (long long)score - (first < n ? fill(&L, &scratch, &cur, shifted, first, 0) : score);
                            checked++;
                            if (!have_best || gain > b_gain || (gain == b_gain && (length > b_len
                                || (length == b_len && (-sh > b_sh || (-sh == b_sh && -idx > b_idx)))))) {
                                have_best = 1;
                                b_gain = gain;
                                b_len = length;
                                b_sh = -sh;
                                b_idx = -idx;
                                memcpy(best_words, shifted, sizeof(int) * n);
                            }
                        }
                        if (checked >= MAX_SHIFT_CANDIDATES) stop = 1;
                    }
                    if (stop || n == sh + length || m == sr + length) break;
                }
            }
        }

        if (checked >= MAX_SHIFT_CANDIDATES || !have_best || b_gain <= 0) break;
        if (res->num_shifts == cap_shifts) {
            Py_ssize_t *grown = realloc(res->shifts, sizeof(Py_ssize_t) * 3 * cap_shifts * 2);
            if (!grown) goto done;
            res->shifts = grown;
            cap_shifts *= 2;
        }
        res->shifts[3 * res->num_shifts] = -b_sh;
        res->shifts[3 * res->num_shifts + 1] = b_len;
        res->shifts[3 * res->num_shifts + 2] = -b_idx;
        res->num_shifts++;
        perform_shift(res->perm, tmp_perm, n, -b_sh, b_len, -b_idx);
        memcpy(res->perm, tmp_perm, sizeof(int) * n);
        {
            Py_ssize_t first = 0;
            while (first < n && words[first] == best_words[first]) first++;
            memcpy(words, best_words, sizeof(int) * n);
            score = fill(&L, &cur, &cur, words, first, 1);
        }
    }
    res->trace_len = backtrace(&L, &cur, res->trace);
    if (res->trace_len < 0) { rc = -2; goto done; }
    res->distance = score;
    rc = 0;

done:
    layout_free(&L);
    rows_free(&cur);
    rows_free(&scratch);
    free(words);
    free(shifted);
    free(best_words);
    free(tmp_perm);
    free(align);
    free(hyp_err);
    free(ref_err);
    free(pos_start);
    free(pos);
    return rc;
}

static int *to_ints(PyObject *seq, Py_ssize_t *len, const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    Py_ssize_t i, n;
    int *out;
    if (!fast) return NULL;
    n = PySequence_Fast_GET_SIZE(fast);
    out = malloc(sizeof(int) * (n ? n : 1));
    if (!out) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (i = 0; i < n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) goto fail;
        if (v < 0 || v > INT_MAX - 1) {
            PyErr_Format(PyExc_ValueError, "%s: word ids must be non-negative ints", what);
            goto fail;
        }
        out[i] = (int)v;
    }
    Py_DECREF(fast);
    *len = n;
    return out;
fail:
    Py_DECREF(fast);
    free(out);
    return NULL;
}

static PyObject *py_ter(PyObject *self, PyObject *args) {
    PyObject *hyp_obj, *ref_obj, *perm = NULL, *shifts = NULL, *out = NULL;
    Py_ssize_t n = 0, m = 0, i;
    int *hyp = NULL, *ref = NULL, rc, do_shifts = 1;
    Result res = {0};
    (void)self;
    if (!PyArg_ParseTuple(args, "OO|p", &hyp_obj, &ref_obj, &do_shifts)) return NULL;
    if (!(hyp = to_ints(hyp_obj, &n, "hyp")) || !(ref = to_ints(ref_obj, &m, "ref"))) goto done;
    Py_BEGIN_ALLOW_THREADS
    rc = ter_core(hyp, n, ref, m, do_shifts, &res);
    Py_END_ALLOW_THREADS
    if (rc == -1) {
        PyErr_NoMemory();
        goto done;
    }
    if (rc == -2) {
        PyErr_SetString(PyExc_RuntimeError, "TER backtrace left the beam");
        goto done;
    }
    if (!(perm = PyList_New(n)) || !(shifts = PyList_New(res.num_shifts))) goto done;
    for (i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(res.perm[i]);
        if (!v) goto done;
        PyList_SET_ITEM(perm, i, v);
    }
    for (i = 0; i < res.num_shifts; i++) {
        PyObject *t = Py_BuildValue("(nnn)", res.shifts[3 * i], res.shifts[3 * i + 1], res.shifts[3 * i + 2]);
        if (!t) goto done;
        PyList_SET_ITEM(shifts, i, t);
    }
    out = Py_BuildValue("(niNOO)", res.num_shifts, res.distance,
                        PyUnicode_FromStringAndSize(res.trace, res.trace_len), perm, shifts);
done:
    Py_XDECREF(perm);
    Py_XDECREF(shifts);
    free(hyp);
    free(ref);
    free(res.trace);
    free(res.perm);
    free(res.shifts);
    return out;
}

static PyMethodDef methods[] = {
    {"ter", py_ter, METH_VARARGS,
     "ter(hyp, ref, shifts=True) -> (num_shifts, edit_distance, trace, perm, shifts): TER with shifts of integer word ids."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ter_c", "tercom-exact TER with shifts.", -1, methods};

PyMODINIT_FUNC PyInit__ter_c(void) { return PyModule_Create(&module); }
