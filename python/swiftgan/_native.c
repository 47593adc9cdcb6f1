/*
 * swiftgan._native: the thin CPython binding of libswiftgan (CShim/include/swiftgan.h).
 *
 * It parses arguments, checks arrays (float32, C-contiguous, at most SG_MAX_NDIM dimensions) and wraps results.
 * Every engine call goes through ENGINE(), which releases the GIL around the call and turns a failed status into
 * a Python exception; the engine itself holds the locks that calls from several threads need (swiftgan.h and
 * Sources/SwiftGANC/Locks.swift).
 *
 * It uses only the stable ABI of CPython 3.10 (Py_LIMITED_API), so one build serves every CPython from 3.10: its types
 * are heap types made from specs, and arrays cross the boundary through the C side of numpy's array interface
 * protocol, __array_struct__ (the buffer protocol enters the limited API only in 3.11). Beyond that documented
 * protocol it does not depend on numpy's C API or ABI; numpy is imported at run time only to allocate result arrays,
 * compare dtypes and read array interfaces.
 *
 * Objects handed to the engine while the GIL is released are kept alive by tuples this module owns, so another
 * Python thread cannot free them mid-call. Each docstring starts with its signature (CPython's __text_signature__
 * form), which test_native_stubs.py compares with _native.pyi.
 */
#define PY_SSIZE_T_CLEAN
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030A0000  /* the stable ABI of CPython 3.10 (setup.py defines it too, and tags the wheel) */
#endif
#include <Python.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "swiftgan.h"

/* ------------------------------------------------------------------------------------------------------ */
/* module globals (set once by the module's init function) */

static PyObject *SwiftGANError;   /* swiftgan.SwiftGANError, a RuntimeError subclass */
static PyObject *np_ndarray;      /* numpy.ndarray */
static PyObject *np_empty;        /* numpy.empty */
static PyObject *np_float32;      /* numpy.dtype("float32") */
static PyObject *np_array_struct; /* numpy.ndarray.__array_struct__.__get__: an array's own, whatever a subclass says */

/* Engine handles owned by live Python objects (Tensor, Optimizer, Model, Projector), for leak tests; changed under the
 * GIL. */
static Py_ssize_t live_tensors, live_optimizers, live_models, live_projectors;

/* Heap types, made from the specs below by the module's init function. */
static PyTypeObject *TensorType;
static PyTypeObject *OptimizerType;
static PyTypeObject *ModelType;
static PyTypeObject *ProjectorType;

typedef struct {
    PyObject_HEAD
    sg_tensor *handle;
} TensorObject;

typedef struct {
    PyObject_HEAD
    sg_optimizer *handle;
    Py_ssize_t n_params;
} OptimizerObject;

typedef struct {
    PyObject_HEAD
    sg_model *handle;
} ModelObject;

typedef struct {
    PyObject_HEAD
    sg_projector *handle;
} ProjectorObject;

/* ------------------------------------------------------------------------------------------------------ */
/* errors, and the one way to call the engine */

/* Raises the Python exception for a failed engine call and returns NULL. */
static PyObject *raise_status(int32_t status) {
    const char *message = sg_last_error();
    PyObject *type;
    switch (status) {
    case SG_EVALUE: type = PyExc_ValueError; break;
    case SG_ETYPE: type = PyExc_TypeError; break;
    case SG_EIO: type = PyExc_OSError; break;
    case SG_EMEMORY: type = PyExc_MemoryError; break;
    case SG_ECANCELLED: type = PyExc_KeyboardInterrupt; break;
    default: type = SwiftGANError; break;
    }
    if (message == NULL || message[0] == '\0') {
        PyErr_Format(type, "swiftgan engine error (status %d)", (int)status);
    } else {
        PyErr_SetString(type, message);
    }
    return NULL;
}

/* 1 for SG_OK; otherwise raises the status's exception (unless one is already set, by a callback the engine ran:
 * a signal handler or should_stop) and returns 0. */
static int engine_ok(int32_t status) {
    if (status == SG_OK && !PyErr_Occurred()) {
        return 1;
    }
    if (!PyErr_Occurred()) {
        raise_status(status);
    }
    return 0;
}

/* ENGINE(sg_...(...)): runs one engine call with the GIL released (the engine may wait for another thread's call
 * on the same model, and runs for a long time); 1 when it succeeded, 0 with the Python exception set. */
#define ENGINE(call)                                                                                                \
    engine_ok(__extension__({                                                                                      \
        int32_t status_;                                                                                           \
        Py_BEGIN_ALLOW_THREADS status_ = (call);                                                                   \
        Py_END_ALLOW_THREADS status_;                                                                              \
    }))

/* The name of obj's type in error messages: "module.qualname", or "qualname" for builtins and __main__ (CPython 3.13's
 * %T), which is tp_name for types written in C; tp_name itself is out of reach in the limited API. A new reference, or
 * NULL with an exception set. */
static PyObject *type_name(PyObject *obj) {
    PyObject *type = (PyObject *)Py_TYPE(obj);
    PyObject *module = PyObject_GetAttrString(type, "__module__");
    PyObject *qualname = module == NULL ? NULL : PyObject_GetAttrString(type, "__qualname__");
    PyObject *name = NULL;
    if (qualname != NULL) {
        int bare = !PyUnicode_Check(module) || PyUnicode_CompareWithASCIIString(module, "builtins") == 0 ||
                   PyUnicode_CompareWithASCIIString(module, "__main__") == 0;
        name = bare ? PyUnicode_FromFormat("%S", qualname) : PyUnicode_FromFormat("%U.%S", module, qualname);
    }
    Py_XDECREF(module);
    Py_XDECREF(qualname);
    return name;
}

/* Raises TypeError "<format % ...>, got <type name of obj>" and returns NULL. */
static PyObject *raise_got(PyObject *obj, const char *format, ...) {
    va_list args;
    va_start(args, format);
    PyObject *message = PyUnicode_FromFormatV(format, args);
    va_end(args);
    PyObject *name = message == NULL ? NULL : type_name(obj);
    if (name != NULL) {
        PyErr_Format(PyExc_TypeError, "%U, got %U", message, name);
    }
    Py_XDECREF(message);
    Py_XDECREF(name);
    return NULL;
}

/* Raises TypeError "<caller>: argument '<name>' must be <what>, got <type of obj>" and returns NULL. */
static PyObject *raise_kind(const char *caller, const char *name, const char *what, PyObject *obj) {
    return raise_got(obj, "%s: argument '%s' must be %s", caller, name, what);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Tensor */

/* Wraps a handle in a new Tensor, taking ownership of it (released on failure). NULL handle -> None. */
static PyObject *tensor_wrap(sg_tensor *handle) {
    if (handle == NULL) {
        Py_RETURN_NONE;
    }
    TensorObject *self = PyObject_New(TensorObject, TensorType);
    if (self == NULL) {
        sg_tensor_release(handle);
        return NULL;
    }
    self->handle = handle;
    live_tensors++;
    return (PyObject *)self;
}

/* A tensor returned by an engine call that must return one: NULL with SwiftGANError if it returned none. */
static PyObject *tensor_result(sg_tensor *handle, const char *what) {
    if (handle == NULL) {
        return PyErr_Format(SwiftGANError, "%s: the engine returned no tensor", what);
    }
    return tensor_wrap(handle);
}

static int is_tensor(PyObject *obj) { return PyObject_TypeCheck(obj, TensorType); }

/* The end of every dealloc: frees an object of one of this module's heap types and drops its reference to the type. */
static void object_free(PyObject *self) {
    PyTypeObject *type = Py_TYPE(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(self);
    Py_DECREF(type);
}

static void Tensor_dealloc(TensorObject *self) {
    if (self->handle != NULL) {
        live_tensors--;
    }
    sg_tensor_release(self->handle);
    object_free((PyObject *)self);
}

static PyObject *shape_tuple(const int64_t *shape, int ndim) {
    PyObject *tuple = PyTuple_New(ndim);
    if (tuple == NULL) {
        return NULL;
    }
    for (int i = 0; i < ndim; i++) {
        PyObject *dim = PyLong_FromLongLong(shape[i]);
        if (dim == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        if (PyTuple_SetItem(tuple, i, dim) < 0) {  /* steals dim */
            Py_DECREF(tuple);
            return NULL;
        }
    }
    return tuple;
}

/* Reads the tensor's shape; returns its ndim, or -1 with an exception set. */
static int tensor_shape(TensorObject *self, int64_t shape[SG_MAX_NDIM]) {
    int32_t ndim = sg_tensor_ndim(self->handle);
    if (ndim < 0 || ndim > SG_MAX_NDIM) {
        PyErr_Format(SwiftGANError, "engine reported an invalid ndim %d", (int)ndim);
        return -1;
    }
    return engine_ok(sg_tensor_shape(self->handle, shape)) ? ndim : -1;
}

static PyObject *Tensor_get_shape(TensorObject *self, void *Py_UNUSED(closure)) {
    int64_t shape[SG_MAX_NDIM];
    int ndim = tensor_shape(self, shape);
    return ndim < 0 ? NULL : shape_tuple(shape, ndim);
}

static PyObject *Tensor_get_ndim(TensorObject *self, void *Py_UNUSED(closure)) {
    return PyLong_FromLong(sg_tensor_ndim(self->handle));
}

static PyObject *Tensor_get_requires_grad(TensorObject *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(sg_tensor_requires_grad(self->handle));
}

static int Tensor_set_requires_grad(TensorObject *self, PyObject *value, void *Py_UNUSED(closure)) {
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "Tensor.requires_grad cannot be deleted");
        return -1;
    }
    if (!PyBool_Check(value)) {
        raise_kind("Tensor.requires_grad", "value", "a bool", value);
        return -1;
    }
    return ENGINE(sg_tensor_set_requires_grad(self->handle, value == Py_True)) ? 0 : -1;
}

static PyObject *Tensor_get_grad(TensorObject *self, void *Py_UNUSED(closure)) {
    sg_tensor *grad = NULL;
    return ENGINE(sg_tensor_grad(self->handle, &grad)) ? tensor_wrap(grad) : NULL;
}

/* The C side of numpy's array interface protocol, version 3 (numpy.org/doc/stable/reference/arrays.interface.html):
 * what ndarray.__array_struct__ holds in a PyCapsule. */
typedef struct {
    int two;  /* 2, a sanity check */
    int nd;
    char typekind;
    int itemsize;
    int flags;
    intptr_t *shape;
    intptr_t *strides;
    void *data;
    PyObject *descr;
} ArrayInterface;

enum { ARRAY_C_CONTIGUOUS = 0x1, ARRAY_NOTSWAPPED = 0x200, ARRAY_WRITEABLE = 0x400 };  /* ArrayInterface.flags */

/* The memory of a float32 C-contiguous numpy array, for the engine to read or write. `owner` keeps the array alive
 * while the GIL is released, as a Py_buffer would. */
typedef struct {
    PyObject *owner;
    void *data;
    int ndim;
    int64_t shape[SG_MAX_NDIM];
    int64_t count;  /* elements */
} ArrayView;

static void array_view_release(ArrayView *view) { Py_CLEAR(view->owner); }

/* Views `obj`, a float32 C-contiguous numpy ndarray with at most SG_MAX_NDIM dimensions (and writable, if asked),
 * through ndarray's own __array_struct__ (the buffer protocol enters the limited API only in 3.11). On failure sets an
 * exception naming `caller` and `name` and returns -1; on success the caller must array_view_release(view). */
static int array_view(PyObject *obj, const char *caller, const char *name, int writable, ArrayView *view) {
    memset(view, 0, sizeof(*view));
    int is_array = PyObject_IsInstance(obj, np_ndarray);
    if (is_array < 0) {
        return -1;
    }
    if (!is_array) {
        raise_kind(caller, name, "a float32 numpy array", obj);
        return -1;
    }
    PyObject *dtype = PyObject_GetAttrString(obj, "dtype");
    if (dtype == NULL) {
        return -1;
    }
    int is_float32 = PyObject_RichCompareBool(dtype, np_float32, Py_EQ);
    if (is_float32 != 1) {
        if (is_float32 == 0) {
            PyErr_Format(PyExc_TypeError, "%s: argument '%s' must be a float32 numpy array, got %S", caller,
                         name, dtype);
        }
        Py_DECREF(dtype);
        return -1;
    }
    Py_DECREF(dtype);
    PyObject *capsule = PyObject_CallFunctionObjArgs(np_array_struct, obj, NULL);
    if (capsule == NULL) {
        return -1;
    }
    const ArrayInterface *array = PyCapsule_GetPointer(capsule, NULL);
    if (array == NULL) {
        Py_DECREF(capsule);
        return -1;
    }
    if (array->two != 2 || array->nd < 0) {
        PyErr_Format(SwiftGANError, "%s: argument '%s' has an __array_struct__ that swiftgan cannot read", caller,
                     name);
    } else if (array->nd > SG_MAX_NDIM) {
        PyErr_Format(PyExc_ValueError, "%s: argument '%s' has %d dimensions; at most %d are supported", caller,
                     name, array->nd, SG_MAX_NDIM);
    } else if (array->typekind != 'f' || array->itemsize != (int)sizeof(float) ||
               !(array->flags & ARRAY_NOTSWAPPED)) {
        PyErr_Format(PyExc_TypeError, "%s: argument '%s' must be a float32 numpy array", caller, name);
    } else if (!(array->flags & ARRAY_C_CONTIGUOUS)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: argument '%s' must be C-contiguous; pass np.ascontiguousarray(%s)", caller, name, name);
    } else if (writable && !(array->flags & ARRAY_WRITEABLE)) {
        PyErr_Format(PyExc_ValueError, "%s: argument '%s' is read-only", caller, name);
    } else {
        view->owner = Py_NewRef(obj);
        view->data = array->data;
        view->ndim = array->nd;
        view->count = 1;
        for (int i = 0; i < array->nd; i++) {
            view->shape[i] = (int64_t)array->shape[i];
            view->count *= view->shape[i];
        }
    }
    Py_DECREF(capsule);
    return view->owner != NULL ? 0 : -1;
}

/* A new float32 numpy array of the given shape (uninitialised). */
static PyObject *new_float32_array(const int64_t *shape, int ndim) {
    PyObject *dims = shape_tuple(shape, ndim);
    if (dims == NULL) {
        return NULL;
    }
    PyObject *array = PyObject_CallFunctionObjArgs(np_empty, dims, np_float32, NULL);
    Py_DECREF(dims);
    return array;
}

static PyObject *Tensor_numpy(TensorObject *self, PyObject *Py_UNUSED(ignored)) {
    int64_t shape[SG_MAX_NDIM];
    int ndim = tensor_shape(self, shape);
    PyObject *array = ndim < 0 ? NULL : new_float32_array(shape, ndim);
    if (array == NULL) {
        return NULL;
    }
    ArrayView view;
    if (array_view(array, "numpy", "out", 1, &view) < 0) {
        Py_DECREF(array);
        return NULL;
    }
    int ok = ENGINE(sg_tensor_read(self->handle, (float *)view.data, view.count));
    array_view_release(&view);
    if (!ok) {
        Py_CLEAR(array);
    }
    return array;
}

static PyObject *Tensor_detach(TensorObject *self, PyObject *Py_UNUSED(ignored)) {
    sg_tensor *out = NULL;
    return ENGINE(sg_tensor_detach(self->handle, &out)) ? tensor_result(out, "detach") : NULL;
}

static PyObject *Tensor_zero_grad(TensorObject *self, PyObject *Py_UNUSED(ignored)) {
    return ENGINE(sg_tensor_zero_grad(self->handle)) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *Tensor_backward(TensorObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"grad", "create_graph", NULL};
    PyObject *grad = Py_None;
    int create_graph = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$p:backward", kwlist, &grad, &create_graph)) {
        return NULL;
    }
    if (grad != Py_None && !is_tensor(grad)) {
        return raise_kind("backward", "grad", "a swiftgan.Tensor or None", grad);
    }
    sg_tensor *grad_handle = grad == Py_None ? NULL : ((TensorObject *)grad)->handle;
    return ENGINE(sg_backward(self->handle, grad_handle, create_graph)) ? Py_NewRef(Py_None) : NULL;
}

/* Creates a tensor holding a copy of `obj` (a float32 C-contiguous ndarray); NULL with an exception on error. */
static PyObject *array_to_tensor(PyObject *obj, int requires_grad, const char *caller, const char *name) {
    ArrayView view;
    if (array_view(obj, caller, name, 0, &view) < 0) {
        return NULL;
    }
    sg_tensor *out = NULL;
    int ok = ENGINE(sg_tensor_create((const float *)view.data, view.shape, view.ndim, requires_grad, &out));
    array_view_release(&view);
    return ok ? tensor_result(out, caller) : NULL;
}

static PyObject *Tensor_copy_(TensorObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"array", NULL};
    PyObject *array;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:copy_", kwlist, &array)) {
        return NULL;
    }
    int64_t shape[SG_MAX_NDIM];
    int ndim = tensor_shape(self, shape);
    if (ndim < 0) {
        return NULL;
    }
    ArrayView view;
    if (array_view(array, "Tensor.copy_", "array", 0, &view) < 0) {
        return NULL;
    }
    int same_shape = view.ndim == ndim;
    for (int i = 0; same_shape && i < ndim; i++) {
        same_shape = view.shape[i] == shape[i];
    }
    if (!same_shape) {
        array_view_release(&view);
        PyObject *expected = shape_tuple(shape, ndim);
        if (expected != NULL) {
            PyErr_Format(PyExc_ValueError, "Tensor.copy_: argument 'array' must have shape %S", expected);
            Py_DECREF(expected);
        }
        return NULL;
    }
    int ok = ENGINE(sg_tensor_write(self->handle, (const float *)view.data, view.count));
    array_view_release(&view);
    return ok ? Py_NewRef(Py_None) : NULL;
}

static PyObject *Tensor_repr(TensorObject *self) {
    PyObject *shape = Tensor_get_shape(self, NULL);
    if (shape == NULL) {
        return NULL;
    }
    PyObject *repr = PyUnicode_FromFormat("Tensor(shape=%S, requires_grad=%s)", shape,
                                          sg_tensor_requires_grad(self->handle) ? "True" : "False");
    Py_DECREF(shape);
    return repr;
}

static PyGetSetDef Tensor_getset[] = {
    {"shape", (getter)Tensor_get_shape, NULL, "The shape, a tuple of ints.", NULL},
    {"ndim", (getter)Tensor_get_ndim, NULL, "The number of dimensions.", NULL},
    {"requires_grad", (getter)Tensor_get_requires_grad, (setter)Tensor_set_requires_grad,
     "Whether ops on this tensor are recorded for autodiff (settable on leaves only).", NULL},
    {"grad", (getter)Tensor_get_grad, NULL,
     "The gradient accumulated into this leaf by backward(), a Tensor, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Tensor_methods[] = {
    {"numpy", (PyCFunction)Tensor_numpy, METH_NOARGS, "numpy($self, /)\n--\n\nA float32 copy of the values."},
    {"detach", (PyCFunction)Tensor_detach, METH_NOARGS,
     "detach($self, /)\n--\n\nA tensor sharing values with this one, cut from the autodiff tape."},
    {"zero_grad", (PyCFunction)Tensor_zero_grad, METH_NOARGS,
     "zero_grad($self, /)\n--\n\nClears the accumulated gradient."},
    {"backward", (PyCFunction)(void (*)(void))Tensor_backward, METH_VARARGS | METH_KEYWORDS,
     "backward($self, /, grad=None, *, create_graph=False)\n--\n\n"
     "Accumulates the gradient of sum(self * grad) into the .grad of every leaf that requires grad.\n"
     "grad may be None for a scalar (0-d or one-element) tensor. With create_graph the gradients are\n"
     "recorded on the tape, so they can be differentiated again."},
    {"copy_", (PyCFunction)(void (*)(void))Tensor_copy_, METH_VARARGS | METH_KEYWORDS,
     "copy_($self, /, array)\n--\n\nOverwrites the values in place from a float32 numpy array of the same shape."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Tensor_slots[] = {
    {Py_tp_doc,
     PyDoc_STR("A float32 tensor owned by the swiftgan engine.\n\n"
               "Create one with swiftgan.tensor(array); ops in swiftgan.functional return them when\n"
               "any input is a Tensor, recording on the autodiff tape.")},
    {Py_tp_dealloc, (void *)Tensor_dealloc},
    {Py_tp_repr, (void *)Tensor_repr},
    {Py_tp_methods, Tensor_methods},
    {Py_tp_getset, Tensor_getset},
    {0, NULL},
};

/* Immutable, as a static type is; only the engine makes Tensors (tensor_wrap), so Python cannot instantiate one. */
static PyType_Spec Tensor_spec = {
    .name = "swiftgan.Tensor",
    .basicsize = sizeof(TensorObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Tensor_slots,
};

/* ------------------------------------------------------------------------------------------------------ */
/* argument helpers */

/* A new tuple of the items of `obj`, each a Tensor (or None where allow_none); NULL with TypeError naming
 * `caller`/`name` otherwise. The tuple keeps the tensors alive while the GIL is released. */
static PyObject *tensor_tuple(PyObject *obj, const char *caller, const char *name, int allow_none) {
    if (PyUnicode_Check(obj) || PyDict_Check(obj)) {
        return raise_kind(caller, name, "a sequence of swiftgan.Tensor", obj);
    }
    PyObject *tuple = PySequence_Tuple(obj);
    if (tuple == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            raise_kind(caller, name, "a sequence of swiftgan.Tensor", obj);
        }
        return NULL;
    }
    Py_ssize_t n = PyTuple_Size(tuple);
    if (n > INT32_MAX) {
        Py_DECREF(tuple);
        PyErr_Format(PyExc_ValueError, "%s: argument '%s' has too many items", caller, name);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GetItem(tuple, i);
        if (!is_tensor(item) && !(allow_none && item == Py_None)) {
            raise_got(item, "%s: argument '%s' item %zd must be a swiftgan.Tensor%s", caller, name, i,
                      allow_none ? " or None" : "");
            Py_DECREF(tuple);
            return NULL;
        }
    }
    return tuple;
}

/* A PyMem-allocated array of the handles in a tuple from tensor_tuple (None -> NULL); never NULL itself
 * unless out of memory (then an exception is set). */
static sg_tensor **handles_of(PyObject *tuple) {
    Py_ssize_t n = PyTuple_Size(tuple);
    sg_tensor **handles = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof(sg_tensor *));
    if (handles == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GetItem(tuple, i);
        handles[i] = item == Py_None ? NULL : ((TensorObject *)item)->handle;
    }
    return handles;
}

/* Named numeric attributes, flattened from a dict for sg_op and sg_optimizer_create. */
typedef struct {
    PyObject *items;  /* owned list of (name, value) pairs: keeps the name strings alive */
    int32_t count;
    const char **names;
    double *values;
} Attrs;

static void attrs_free(Attrs *attrs) {
    Py_XDECREF(attrs->items);
    PyMem_Free(attrs->names);
    PyMem_Free(attrs->values);
    memset(attrs, 0, sizeof(*attrs));
}

/* Parses a dict of str -> bool | int | float (NULL or None: no attributes); returns -1 with an exception on error. */
static int attrs_parse(PyObject *dict, const char *caller, Attrs *attrs) {
    memset(attrs, 0, sizeof(*attrs));
    if (dict != NULL && dict != Py_None && !PyDict_Check(dict)) {
        raise_kind(caller, "attrs", "a dict", dict);
        return -1;
    }
    attrs->items = dict == NULL || dict == Py_None ? PyList_New(0) : PyDict_Items(dict);
    if (attrs->items == NULL) {
        return -1;
    }
    Py_ssize_t n = PyList_Size(attrs->items);
    if (n > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: too many attributes", caller);
        goto fail;
    }
    attrs->count = (int32_t)n;
    attrs->names = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof(const char *));
    attrs->values = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof(double));
    if (attrs->names == NULL || attrs->values == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GetItem(attrs->items, i);  /* a (key, value) tuple of PyDict_Items */
        PyObject *key = PyTuple_GetItem(pair, 0);
        PyObject *value = PyTuple_GetItem(pair, 1);
        if (!PyUnicode_Check(key)) {
            raise_got(key, "%s: attribute names must be str", caller);
            goto fail;
        }
        attrs->names[i] = PyUnicode_AsUTF8AndSize(key, NULL);
        if (attrs->names[i] == NULL) {
            goto fail;
        }
        if (PyFloat_Check(value)) {
            attrs->values[i] = PyFloat_AsDouble(value);  /* the stored value, even of a subclass */
        } else if (PyLong_Check(value) || PyIndex_Check(value)) {
            PyObject *index = PyNumber_Index(value);
            if (index == NULL) {
                goto fail;
            }
            attrs->values[i] = PyLong_AsDouble(index);
            Py_DECREF(index);
            if (attrs->values[i] == -1.0 && PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "%s: attribute '%s' is out of range", caller, attrs->names[i]);
                goto fail;
            }
        } else {
            raise_got(value, "%s: attribute '%s' must be a bool, int or float", caller, attrs->names[i]);
            goto fail;
        }
    }
    return 0;
fail:
    attrs_free(attrs);
    return -1;
}

/* Named tensor inputs, flattened from a dict of str -> Tensor | None for sg_op and sg_model_call. */
typedef struct {
    PyObject *items;  /* owned list of (name, tensor) pairs: keeps names and tensors alive while the GIL is released */
    int32_t count;
    const char **names;
    sg_tensor **handles;  /* NULL for None */
} NamedInputs;

static void named_inputs_free(NamedInputs *inputs) {
    Py_XDECREF(inputs->items);
    PyMem_Free(inputs->names);
    PyMem_Free(inputs->handles);
    memset(inputs, 0, sizeof(*inputs));
}

/* Parses a dict of str -> Tensor | None; returns -1 with an exception naming `caller` on error. */
static int named_inputs_parse(PyObject *dict, const char *caller, NamedInputs *inputs) {
    memset(inputs, 0, sizeof(*inputs));
    if (!PyDict_Check(dict)) {
        raise_kind(caller, "inputs", "a dict", dict);
        return -1;
    }
    inputs->items = PyDict_Items(dict);
    if (inputs->items == NULL) {
        return -1;
    }
    Py_ssize_t n = PyList_Size(inputs->items);
    if (n > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: too many inputs", caller);
        goto fail;
    }
    inputs->count = (int32_t)n;
    inputs->names = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof(const char *));
    inputs->handles = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof(sg_tensor *));
    if (inputs->names == NULL || inputs->handles == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GetItem(inputs->items, i);  /* a (key, value) tuple of PyDict_Items */
        PyObject *key = PyTuple_GetItem(pair, 0);
        PyObject *value = PyTuple_GetItem(pair, 1);
        if (!PyUnicode_Check(key)) {
            raise_got(key, "%s: input names must be str", caller);
            goto fail;
        }
        inputs->names[i] = PyUnicode_AsUTF8AndSize(key, NULL);
        if (inputs->names[i] == NULL) {
            goto fail;
        }
        if (value != Py_None && !is_tensor(value)) {
            raise_kind(caller, inputs->names[i], "a swiftgan.Tensor or None", value);
            goto fail;
        }
        inputs->handles[i] = value == Py_None ? NULL : ((TensorObject *)value)->handle;
    }
    return 0;
fail:
    named_inputs_free(inputs);
    return -1;
}

/* Parses a shape (a sequence of at most SG_MAX_NDIM non-negative ints whose product fits in int64). */
static int shape_parse(PyObject *obj, const char *caller, int64_t shape[SG_MAX_NDIM], int32_t *ndim) {
    if (PyUnicode_Check(obj) || !PySequence_Check(obj)) {
        raise_kind(caller, "shape", "a sequence of ints", obj);
        return -1;
    }
    PyObject *tuple = PySequence_Tuple(obj);
    if (tuple == NULL) {
        return -1;
    }
    Py_ssize_t n = PyTuple_Size(tuple);
    if (n > SG_MAX_NDIM) {
        PyErr_Format(PyExc_ValueError, "%s: argument 'shape' has %zd dimensions; at most %d are supported", caller,
                     n, SG_MAX_NDIM);
        Py_DECREF(tuple);
        return -1;
    }
    int64_t count = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GetItem(tuple, i);
        if (PyBool_Check(item) || !PyIndex_Check(item)) {
            raise_got(item, "%s: argument 'shape' must hold ints", caller);
            Py_DECREF(tuple);
            return -1;
        }
        long long dim = PyLong_AsLongLong(item);
        if (dim == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            dim = -1;
        }
        if (dim < 0 || __builtin_mul_overflow(count, (int64_t)dim, &count)) {
            PyErr_Format(PyExc_ValueError, "%s: argument 'shape' must hold non-negative ints whose product fits "
                         "in 64 bits, got %R", caller, obj);
            Py_DECREF(tuple);
            return -1;
        }
        shape[i] = (int64_t)dim;
    }
    Py_DECREF(tuple);
    *ndim = (int32_t)n;
    return 0;
}

/* Parses a non-negative int below 2**64 into *out. */
static int uint64_parse(PyObject *obj, const char *caller, const char *name, uint64_t *out) {
    if (PyBool_Check(obj) || !PyIndex_Check(obj)) {
        raise_kind(caller, name, "an int", obj);
        return -1;
    }
    PyObject *index = PyNumber_Index(obj);
    if (index == NULL) {
        return -1;
    }
    unsigned long long value = PyLong_AsUnsignedLongLong(index);
    Py_DECREF(index);
    if (value == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: argument '%s' must be an int in [0, 2**64), got %R", caller, name, obj);
        return -1;
    }
    *out = (uint64_t)value;
    return 0;
}

/* Parses an int in [-2**63, 2**63) into *out. */
static int int64_parse(PyObject *obj, const char *caller, const char *name, int64_t *out) {
    if (PyBool_Check(obj) || !PyIndex_Check(obj)) {
        raise_kind(caller, name, "an int", obj);
        return -1;
    }
    PyObject *index = PyNumber_Index(obj);
    if (index == NULL) {
        return -1;
    }
    long long value = PyLong_AsLongLong(index);
    Py_DECREF(index);
    if (value == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: argument '%s' must be an int in [-2**63, 2**63), got %R", caller, name,
                     obj);
        return -1;
    }
    *out = (int64_t)value;
    return 0;
}

/* The items of an engine's comma-separated names list as a list of str (NULL or "" -> empty list). */
static PyObject *split_names(const char *names) {
    if (names == NULL || names[0] == '\0') {
        return PyList_New(0);
    }
    PyObject *joined = PyUnicode_FromString(names);
    PyObject *comma = PyUnicode_FromString(",");
    PyObject *list = joined == NULL || comma == NULL ? NULL : PyUnicode_Split(joined, comma, -1);
    Py_XDECREF(joined);
    Py_XDECREF(comma);
    return list;
}

/* A list of new Tensors from `n` handles (NULL -> None), taking every handle (released on failure). */
static PyObject *tensor_list(sg_tensor **handles, Py_ssize_t n) {
    PyObject *result = PyList_New(n);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (result == NULL) {
            sg_tensor_release(handles[i]);
            continue;
        }
        PyObject *item = tensor_wrap(handles[i]);
        if (item == NULL || PyList_SetItem(result, i, item) < 0) {  /* SetItem steals item */
            Py_CLEAR(result);
        }
    }
    return result;
}

/* ------------------------------------------------------------------------------------------------------ */
/* module functions */

static PyObject *mod_tensor(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"array", "requires_grad", "name", "caller", NULL};
    PyObject *array;
    int requires_grad = 0;
    const char *name = "array";
    const char *caller = "tensor";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|p$ss:tensor", kwlist, &array, &requires_grad, &name,
                                     &caller)) {
        return NULL;
    }
    return array_to_tensor(array, requires_grad, caller, name);
}

static PyObject *mod_op(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"name", "inputs", "attrs", NULL};
    const char *name;
    PyObject *inputs_dict, *attrs_dict = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|O:op", kwlist, &name, &inputs_dict, &attrs_dict)) {
        return NULL;
    }
    NamedInputs inputs;
    if (named_inputs_parse(inputs_dict, name, &inputs) < 0) {
        return NULL;
    }
    Attrs attrs;
    if (attrs_parse(attrs_dict, name, &attrs) < 0) {
        named_inputs_free(&inputs);
        return NULL;
    }
    sg_tensor *out = NULL;
    int ok = ENGINE(sg_op(name, inputs.count, inputs.names, inputs.handles, attrs.count, attrs.names, attrs.values,
                          &out));
    named_inputs_free(&inputs);
    attrs_free(&attrs);
    return ok ? tensor_result(out, name) : NULL;
}

static PyObject *mod_grad(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"outputs", "inputs", "grad_outputs", "create_graph", NULL};
    PyObject *outputs_arg, *inputs_arg, *grad_outputs_arg = Py_None;
    int create_graph = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|Op:grad", kwlist, &outputs_arg, &inputs_arg,
                                     &grad_outputs_arg, &create_graph)) {
        return NULL;
    }
    PyObject *result = NULL, *outputs = NULL, *inputs = NULL, *grad_outputs = NULL;
    sg_tensor **output_handles = NULL, **input_handles = NULL, **grad_output_handles = NULL, **grads = NULL;
    outputs = tensor_tuple(outputs_arg, "grad", "outputs", 0);
    inputs = outputs == NULL ? NULL : tensor_tuple(inputs_arg, "grad", "inputs", 0);
    if (inputs == NULL) {
        goto done;
    }
    Py_ssize_t n_outputs = PyTuple_Size(outputs), n_inputs = PyTuple_Size(inputs);
    if (grad_outputs_arg != Py_None) {
        grad_outputs = tensor_tuple(grad_outputs_arg, "grad", "grad_outputs", 1);
        if (grad_outputs == NULL) {
            goto done;
        }
        if (PyTuple_Size(grad_outputs) != n_outputs) {
            PyErr_Format(PyExc_ValueError, "grad: 'grad_outputs' has %zd items but 'outputs' has %zd",
                         PyTuple_Size(grad_outputs), n_outputs);
            goto done;
        }
        if ((grad_output_handles = handles_of(grad_outputs)) == NULL) {
            goto done;
        }
    }
    output_handles = handles_of(outputs);
    input_handles = output_handles == NULL ? NULL : handles_of(inputs);
    grads = PyMem_Calloc(n_inputs > 0 ? (size_t)n_inputs : 1, sizeof(sg_tensor *));
    if (input_handles == NULL || grads == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto done;
    }
    if (ENGINE(sg_grad((int32_t)n_outputs, output_handles, grad_output_handles, (int32_t)n_inputs, input_handles,
                       create_graph, grads))) {
        result = tensor_list(grads, n_inputs);
    }
done:
    PyMem_Free(output_handles);
    PyMem_Free(input_handles);
    PyMem_Free(grad_output_handles);
    PyMem_Free(grads);
    Py_XDECREF(outputs);
    Py_XDECREF(inputs);
    Py_XDECREF(grad_outputs);
    return result;
}

static PyObject *mod_set_num_threads(PyObject *Py_UNUSED(module), PyObject *arg) {
    if (PyBool_Check(arg) || !PyLong_Check(arg)) {
        return raise_kind("set_num_threads", "n", "an int", arg);
    }
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (n < 1 || n > INT32_MAX) {
        return PyErr_Format(PyExc_ValueError, "set_num_threads: argument 'n' must be >= 1, got %ld", n);
    }
    return ENGINE(sg_set_num_threads((int32_t)n)) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *mod_get_num_threads(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromLong(sg_get_num_threads());
}

static PyObject *mod_set_cache_limit(PyObject *Py_UNUSED(module), PyObject *arg) {
    if (PyBool_Check(arg) || !PyLong_Check(arg)) {
        return raise_kind("set_cache_limit", "nbytes", "an int", arg);
    }
    int overflow = 0;
    long long nbytes = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (nbytes == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow != 0 || nbytes < 0) {
        return PyErr_Format(PyExc_ValueError, "set_cache_limit: argument 'nbytes' must be >= 0 and below 2**63, got %R",
                            arg);
    }
    return ENGINE(sg_set_cache_limit((int64_t)nbytes)) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *mod_get_cache_limit(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromLongLong(sg_get_cache_limit());
}

static PyObject *mod_cached_bytes(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromLongLong(sg_cached_bytes());
}

static PyObject *mod_empty_cache(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    sg_empty_cache();
    Py_RETURN_NONE;
}

static PyObject *mod_set_grad_enabled(PyObject *Py_UNUSED(module), PyObject *arg) {
    if (!PyBool_Check(arg)) {
        return raise_kind("set_grad_enabled", "enabled", "a bool", arg);
    }
    return PyBool_FromLong(sg_set_grad_enabled(arg == Py_True));
}

static PyObject *mod_op_names(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    return split_names(sg_op_names());
}

typedef int32_t (*random_fn)(uint64_t, uint64_t, const int64_t *, int32_t, sg_tensor **);

static PyObject *random_tensor(random_fn fn, const char *caller, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"seed", "offset", "shape", NULL};
    PyObject *seed_arg, *offset_arg, *shape_arg;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO", kwlist, &seed_arg, &offset_arg, &shape_arg)) {
        return NULL;
    }
    uint64_t seed, offset;
    int64_t shape[SG_MAX_NDIM];
    int32_t ndim;
    if (uint64_parse(seed_arg, caller, "seed", &seed) < 0 || uint64_parse(offset_arg, caller, "offset", &offset) < 0 ||
        shape_parse(shape_arg, caller, shape, &ndim) < 0) {
        return NULL;
    }
    sg_tensor *out = NULL;
    return ENGINE(fn(seed, offset, shape, ndim, &out)) ? tensor_result(out, caller) : NULL;
}

static PyObject *mod_random_normal(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    return random_tensor(sg_random_normal, "random_normal", args, kwargs);
}

static PyObject *mod_random_uniform(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    return random_tensor(sg_random_uniform, "random_uniform", args, kwargs);
}

static PyObject *mod_ema_update(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"ema", "params", "decay", NULL};
    PyObject *ema_arg, *params_arg;
    double decay;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOd:ema_update", kwlist, &ema_arg, &params_arg, &decay)) {
        return NULL;
    }
    PyObject *result = NULL;
    sg_tensor **ema_handles = NULL, **param_handles = NULL;
    PyObject *ema = tensor_tuple(ema_arg, "ema_update", "ema", 0);
    PyObject *params = ema == NULL ? NULL : tensor_tuple(params_arg, "ema_update", "params", 0);
    if (params == NULL) {
        goto done;
    }
    if (PyTuple_Size(ema) != PyTuple_Size(params)) {
        PyErr_Format(PyExc_ValueError, "ema_update: 'ema' has %zd tensors but 'params' has %zd",
                     PyTuple_Size(ema), PyTuple_Size(params));
        goto done;
    }
    ema_handles = handles_of(ema);
    param_handles = ema_handles == NULL ? NULL : handles_of(params);
    if (param_handles != NULL &&
        ENGINE(sg_ema_update((int32_t)PyTuple_Size(ema), ema_handles, param_handles, decay))) {
        result = Py_NewRef(Py_None);
    }
done:
    PyMem_Free(ema_handles);
    PyMem_Free(param_handles);
    Py_XDECREF(ema);
    Py_XDECREF(params);
    return result;
}

static PyObject *mod_config_schema(PyObject *Py_UNUSED(module), PyObject *arg) {
    const char *kind = PyUnicode_Check(arg) ? PyUnicode_AsUTF8AndSize(arg, NULL) : NULL;
    if (kind == NULL) {
        return PyErr_Occurred() ? NULL : raise_kind("config_schema", "kind", "a str", arg);
    }
    const char *schema = NULL;
    return ENGINE(sg_model_config_schema(kind, &schema)) ? PyUnicode_FromString(schema) : NULL;
}

static PyObject *mod_conv_algorithms(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"x_shape", "weight_shape", "stride", "padding", "output_padding", "transposed", NULL};
    PyObject *x_arg, *weight_arg;
    int stride = 1, padding = 0, output_padding = 0, transposed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|iiip:conv_algorithms", kwlist, &x_arg, &weight_arg, &stride,
                                     &padding, &output_padding, &transposed)) {
        return NULL;
    }
    int64_t x_shape[SG_MAX_NDIM], weight_shape[SG_MAX_NDIM];
    int32_t x_ndim, weight_ndim;
    if (shape_parse(x_arg, "conv_algorithm", x_shape, &x_ndim) < 0 ||
        shape_parse(weight_arg, "conv_algorithm", weight_shape, &weight_ndim) < 0) {
        return NULL;
    }
    const char *names[3] = {NULL, NULL, NULL};
    if (!ENGINE(sg_conv_algorithms(x_shape, x_ndim, weight_shape, weight_ndim, stride, padding, output_padding,
                                   transposed, names))) {
        return NULL;
    }
    return Py_BuildValue("(sss)", names[0], names[1], names[2]);
}

static PyObject *mod_dist_init(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"library", NULL};
    const char *library = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z:dist_init", kwlist, &library)) {
        return NULL;
    }
    int32_t rank = 0, size = 0;
    return ENGINE(sg_dist_init(library, &rank, &size)) ? Py_BuildValue("(ii)", (int)rank, (int)size) : NULL;
}

static PyObject *mod_dist_finalize(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    return ENGINE(sg_dist_finalize()) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *mod_dist_barrier(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    return ENGINE(sg_dist_barrier()) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *mod_dist_abort(PyObject *Py_UNUSED(module), PyObject *arg) {
    long code = PyLong_AsLong(arg);
    if (code == -1 && PyErr_Occurred()) {
        return NULL;
    }
    return ENGINE(sg_dist_abort((int32_t)code)) ? Py_NewRef(Py_None) : NULL;
}

/* dist_allreduce_sum(values: sequence of float) -> list[float], summed over all ranks. */
static PyObject *mod_dist_allreduce_sum(PyObject *Py_UNUSED(module), PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "dist_allreduce_sum: argument 'values' must be a sequence of floats");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Size(seq);
    if (n > INT32_MAX) {
        Py_DECREF(seq);
        return PyErr_Format(PyExc_ValueError, "dist_allreduce_sum: too many values (%zd)", n);
    }
    double *values = PyMem_Malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (values == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_GetItem(seq, i);  /* IndexError if a __float__ shrank the list */
        values[i] = item == NULL ? -1.0 : PyFloat_AsDouble(item);
        Py_XDECREF(item);
        if (values[i] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(values);
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    PyObject *result = NULL;
    if (ENGINE(sg_dist_allreduce_sum(values, (int32_t)n)) && (result = PyList_New(n)) != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = PyFloat_FromDouble(values[i]);
            if (item == NULL || PyList_SetItem(result, i, item) < 0) {  /* SetItem steals item */
                Py_CLEAR(result);
                break;
            }
        }
    }
    PyMem_Free(values);
    return result;
}

static PyObject *mod_live_handles(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("{s:n,s:n,s:n,s:n}", "tensors", live_tensors, "optimizers", live_optimizers, "models",
                         live_models, "projectors", live_projectors);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Optimizer */

static int Optimizer_init(OptimizerObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"kind", "params", "attrs", NULL};
    const char *kind;
    PyObject *params_arg, *attrs_dict;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sOO:Optimizer", kwlist, &kind, &params_arg, &attrs_dict)) {
        return -1;
    }
    if (self->handle != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Optimizer is already initialised");
        return -1;
    }
    Attrs attrs;
    if (attrs_parse(attrs_dict, "Optimizer", &attrs) < 0) {
        return -1;
    }
    int rc = -1;
    sg_tensor **handles = NULL;
    sg_optimizer *out = NULL;
    PyObject *params = tensor_tuple(params_arg, "Optimizer", "params", 0);
    if (params != NULL && (handles = handles_of(params)) != NULL &&
        ENGINE(sg_optimizer_create(kind, (int32_t)PyTuple_Size(params), handles, attrs.count, attrs.names,
                                   attrs.values, &out))) {
        self->handle = out;
        self->n_params = PyTuple_Size(params);
        live_optimizers++;
        rc = 0;
    }
    PyMem_Free(handles);
    Py_XDECREF(params);
    attrs_free(&attrs);
    return rc;
}

static void Optimizer_dealloc(OptimizerObject *self) {
    if (self->handle != NULL) {
        live_optimizers--;
    }
    sg_optimizer_release(self->handle);
    object_free((PyObject *)self);
}

static int optimizer_ready(OptimizerObject *self) {
    if (self->handle == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Optimizer.__init__ was not called");
        return 0;
    }
    return 1;
}

static PyObject *Optimizer_step(OptimizerObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"lr", NULL};
    double lr;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "d:step", kwlist, &lr) || !optimizer_ready(self)) {
        return NULL;
    }
    return ENGINE(sg_optimizer_step(self->handle, lr)) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *Optimizer_zero_grad(OptimizerObject *self, PyObject *Py_UNUSED(ignored)) {
    if (!optimizer_ready(self)) {
        return NULL;
    }
    return ENGINE(sg_optimizer_zero_grad(self->handle)) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *Optimizer_state(OptimizerObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"index", "slot", NULL};
    int index, slot;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ii:state", kwlist, &index, &slot) || !optimizer_ready(self)) {
        return NULL;
    }
    sg_tensor *out = NULL;
    return ENGINE(sg_optimizer_state(self->handle, index, slot, &out)) ? tensor_result(out, "state") : NULL;
}

static PyObject *Optimizer_get_step_count(OptimizerObject *self, void *Py_UNUSED(closure)) {
    return optimizer_ready(self) ? PyLong_FromLongLong(sg_optimizer_get_step(self->handle)) : NULL;
}

static int Optimizer_set_step_count(OptimizerObject *self, PyObject *value, void *Py_UNUSED(closure)) {
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "Optimizer.step_count cannot be deleted");
        return -1;
    }
    if (!optimizer_ready(self)) {
        return -1;
    }
    if (PyBool_Check(value) || !PyLong_Check(value)) {
        raise_kind("Optimizer.step_count", "value", "an int", value);
        return -1;
    }
    long long step = PyLong_AsLongLong(value);
    if (step == -1 && PyErr_Occurred()) {
        return -1;
    }
    return ENGINE(sg_optimizer_set_step(self->handle, step)) ? 0 : -1;
}

static PyObject *Optimizer_get_slots(OptimizerObject *self, void *Py_UNUSED(closure)) {
    return optimizer_ready(self) ? PyLong_FromLong(sg_optimizer_slots(self->handle)) : NULL;
}

static PyObject *Optimizer_get_num_params(OptimizerObject *self, void *Py_UNUSED(closure)) {
    return PyLong_FromSsize_t(self->n_params);
}

static PyGetSetDef Optimizer_getset[] = {
    {"step_count", (getter)Optimizer_get_step_count, (setter)Optimizer_set_step_count,
     "The number of steps taken (settable, to resume from a checkpoint).", NULL},
    {"slots", (getter)Optimizer_get_slots, NULL, "State tensors per parameter (Adam 2: m, v; SGD 1).", NULL},
    {"num_params", (getter)Optimizer_get_num_params, NULL, "The number of parameters.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Optimizer_methods[] = {
    {"step", (PyCFunction)(void (*)(void))Optimizer_step, METH_VARARGS | METH_KEYWORDS,
     "step($self, /, lr)\n--\n\nOne update of every parameter from its .grad, at learning rate lr."},
    {"zero_grad", (PyCFunction)Optimizer_zero_grad, METH_NOARGS,
     "zero_grad($self, /)\n--\n\nClears the gradients of every parameter."},
    {"state", (PyCFunction)(void (*)(void))Optimizer_state, METH_VARARGS | METH_KEYWORDS,
     "state($self, /, index, slot)\n--\n\nState tensor `slot` of parameter `index`, sharing the optimizer's storage."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Optimizer_slots[] = {
    {Py_tp_doc,
     PyDoc_STR("Optimizer(kind, params, attrs)\n--\n\n"
               "An engine optimizer: kind 'adam' (attrs lr, beta1, beta2, eps, weight_decay) or\n"
               "'sgd' (attrs lr, momentum, weight_decay) over a sequence of leaf Tensors.")},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_init, (void *)Optimizer_init},
    {Py_tp_dealloc, (void *)Optimizer_dealloc},
    {Py_tp_methods, Optimizer_methods},
    {Py_tp_getset, Optimizer_getset},
    {0, NULL},
};

static PyType_Spec Optimizer_spec = {
    .name = "swiftgan._native.Optimizer",
    .basicsize = sizeof(OptimizerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Optimizer_slots,
};

/* ------------------------------------------------------------------------------------------------------ */
/* Model */

static int Model_init(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"kind", "config", "max_state_floats", NULL};
    const char *kind, *config;
    long long max_state_floats = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ss|L:Model", kwlist, &kind, &config, &max_state_floats)) {
        return -1;
    }
    if (self->handle != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Model is already initialised");
        return -1;
    }
    sg_model *out = NULL;
    if (!ENGINE(sg_model_create(kind, config, (int64_t)max_state_floats, &out))) {
        return -1;
    }
    self->handle = out;
    live_models++;
    return 0;
}

static void Model_dealloc(ModelObject *self) {
    if (self->handle != NULL) {
        live_models--;
    }
    sg_model_release(self->handle);
    object_free((PyObject *)self);
}

/* Whether the model was initialised; sets an exception and returns 0 otherwise. */
static int model_ready(ModelObject *self) {
    if (self->handle == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Model.__init__ was not called");
        return 0;
    }
    return 1;
}

static PyObject *Model_loss_names(ModelObject *self, PyObject *Py_UNUSED(ignored)) {
    return model_ready(self) ? split_names(sg_model_loss_names(self->handle)) : NULL;
}

static PyObject *Model_net_names(ModelObject *self, PyObject *Py_UNUSED(ignored)) {
    return model_ready(self) ? split_names(sg_model_net_names(self->handle)) : NULL;
}

static PyObject *Model_state_names(ModelObject *self, PyObject *Py_UNUSED(ignored)) {
    return model_ready(self) ? split_names(sg_model_state_names(self->handle)) : NULL;
}

static PyObject *Model_counter_names(ModelObject *self, PyObject *Py_UNUSED(ignored)) {
    return model_ready(self) ? split_names(sg_model_counter_names(self->handle)) : NULL;
}

/* A Python should_stop callable for an interruptible training step, and whether the step is to stop. */
typedef struct {
    PyObject *should_stop;
    int stop;
} StopRequest;

/* The engine's should_stop callback, called on the stepping thread with the GIL released: runs Python's pending
 * signal handlers (on the main thread; Ctrl-C's among them), then asks the should_stop callable. Nonzero when that
 * returned true or either raised (the exception stays set for the step's caller), and from then on. */
static int32_t ask_should_stop(void *context) {
    StopRequest *request = context;
    if (!request->stop) {
        PyGILState_STATE gil = PyGILState_Ensure();
        if (PyErr_CheckSignals() < 0) {
            request->stop = 1;
        } else {
            PyObject *answer = PyObject_CallNoArgs(request->should_stop);
            request->stop = answer == NULL ? 1 : PyObject_IsTrue(answer) != 0;  /* IsTrue -1 (raised) stops too */
            Py_XDECREF(answer);
        }
        PyGILState_Release(gil);
    }
    return request->stop;
}

static PyObject *Model_train_step(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"inputs", "should_stop", NULL};
    PyObject *inputs_arg;
    StopRequest request = {NULL, 0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:train_step", kwlist, &inputs_arg, &request.should_stop) ||
        !model_ready(self)) {
        return NULL;
    }
    if (request.should_stop == Py_None) {
        request.should_stop = NULL;
    }
    if (request.should_stop != NULL && !PyCallable_Check(request.should_stop)) {
        return raise_kind("train_step", "should_stop", "a callable or None", request.should_stop);
    }
    PyObject *names = split_names(sg_model_loss_names(self->handle));
    if (names == NULL) {
        return NULL;
    }
    Py_ssize_t n_losses = PyList_Size(names);
    Py_DECREF(names);
    PyObject *result = NULL;
    sg_tensor **handles = NULL;
    double *losses = NULL;
    PyObject *inputs = tensor_tuple(inputs_arg, "train_step", "inputs", 0);
    if (inputs == NULL || (handles = handles_of(inputs)) == NULL) {
        goto done;
    }
    losses = PyMem_Calloc(n_losses > 0 ? (size_t)n_losses : 1, sizeof(double));
    if (losses == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int32_t n_inputs = (int32_t)PyTuple_Size(inputs);
    /* A step stopped by should_stop raises KeyboardInterrupt (SG_ECANCELLED), or what a handler or should_stop
     * raised; either way the step was rolled back. */
    int ok = request.should_stop != NULL
        ? ENGINE(sg_model_train_step_interruptible(self->handle, n_inputs, handles, losses, (int32_t)n_losses,
                                                   ask_should_stop, &request))
        : ENGINE(sg_model_train_step(self->handle, n_inputs, handles, losses, (int32_t)n_losses));
    if (ok && (result = PyTuple_New(n_losses)) != NULL) {
        for (Py_ssize_t i = 0; i < n_losses; i++) {
            PyObject *value = PyFloat_FromDouble(losses[i]);
            if (value == NULL || PyTuple_SetItem(result, i, value) < 0) {  /* SetItem steals value */
                Py_CLEAR(result);
                break;
            }
        }
    }
done:
    PyMem_Free(handles);
    PyMem_Free(losses);
    Py_XDECREF(inputs);
    return result;
}

static PyObject *Model_forward(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"net", "x", "training", NULL};
    const char *net;
    PyObject *x;
    int training = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|p:forward", kwlist, &net, &x, &training) ||
        !model_ready(self)) {
        return NULL;
    }
    if (!is_tensor(x)) {
        return raise_kind("forward", "x", "a swiftgan.Tensor", x);
    }
    sg_tensor *out = NULL;
    Py_INCREF(x);  /* kept alive while the GIL is released */
    int ok = ENGINE(sg_model_forward(self->handle, net, ((TensorObject *)x)->handle, training, &out));
    Py_DECREF(x);
    return ok ? tensor_result(out, "forward") : NULL;
}

static PyObject *Model_generate(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"n", "seed", NULL};
    PyObject *n_arg, *seed_arg;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:generate", kwlist, &n_arg, &seed_arg) || !model_ready(self)) {
        return NULL;
    }
    int64_t n;
    uint64_t seed;
    if (int64_parse(n_arg, "generate", "n", &n) < 0 || uint64_parse(seed_arg, "generate", "seed", &seed) < 0) {
        return NULL;
    }
    if (n < 1 || n > INT32_MAX) {
        return PyErr_Format(PyExc_ValueError, "generate: argument 'n' must be an int in [1, 2**31), got %R", n_arg);
    }
    sg_tensor *out = NULL;
    return ENGINE(sg_model_generate(self->handle, (int32_t)n, seed, &out)) ? tensor_result(out, "generate") : NULL;
}

static PyObject *Model_call(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"method", "inputs", "attrs", NULL};
    const char *method;
    PyObject *inputs_dict, *attrs_dict = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|O:call", kwlist, &method, &inputs_dict, &attrs_dict) ||
        !model_ready(self)) {
        return NULL;
    }
    NamedInputs inputs;
    if (named_inputs_parse(inputs_dict, method, &inputs) < 0) {
        return NULL;
    }
    Attrs attrs;
    if (attrs_parse(attrs_dict, method, &attrs) < 0) {
        named_inputs_free(&inputs);
        return NULL;
    }
    sg_tensor *out = NULL;
    int ok = ENGINE(sg_model_call(self->handle, method, inputs.count, inputs.names, inputs.handles, attrs.count,
                                  attrs.names, attrs.values, &out));
    named_inputs_free(&inputs);
    attrs_free(&attrs);
    return ok ? tensor_result(out, method) : NULL;
}

static PyObject *Model_state_tensor(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"name", NULL};
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s:state_tensor", kwlist, &name) || !model_ready(self)) {
        return NULL;
    }
    sg_tensor *out = NULL;
    return ENGINE(sg_model_state_tensor(self->handle, name, &out)) ? tensor_result(out, "state_tensor") : NULL;
}

static PyObject *Model_get_counter(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"name", NULL};
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s:get_counter", kwlist, &name) || !model_ready(self)) {
        return NULL;
    }
    int64_t value = 0;
    return ENGINE(sg_model_get_counter(self->handle, name, &value)) ? PyLong_FromLongLong(value) : NULL;
}

static PyObject *Model_set_counter(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"name", "value", NULL};
    const char *name;
    PyObject *value_arg;
    int64_t value;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO:set_counter", kwlist, &name, &value_arg) ||
        !model_ready(self) || int64_parse(value_arg, "set_counter", "value", &value) < 0) {
        return NULL;
    }
    return ENGINE(sg_model_set_counter(self->handle, name, value)) ? Py_NewRef(Py_None) : NULL;
}

static PyObject *Model_set_data_parallel(ModelObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"enabled", "sync_batchnorm", NULL};
    int enabled, sync_batchnorm = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "p|p:set_data_parallel", kwlist, &enabled, &sync_batchnorm) ||
        !model_ready(self)) {
        return NULL;
    }
    return ENGINE(sg_model_set_data_parallel(self->handle, enabled, sync_batchnorm)) ? Py_NewRef(Py_None) : NULL;
}

static PyMethodDef Model_methods[] = {
    {"set_data_parallel", (PyCFunction)(void (*)(void))Model_set_data_parallel, METH_VARARGS | METH_KEYWORDS,
     "set_data_parallel($self, /, enabled, sync_batchnorm=False)\n--\n\n"
     "Collective: attaches (or detaches) data parallelism over MPI_COMM_WORLD; rank 0's state is broadcast to every "
     "rank."},
    {"loss_names", (PyCFunction)Model_loss_names, METH_NOARGS,
     "loss_names($self, /)\n--\n\nThe losses and statistics train_step reports, in order."},
    {"net_names", (PyCFunction)Model_net_names, METH_NOARGS, "net_names($self, /)\n--\n\nThe networks."},
    {"state_names", (PyCFunction)Model_state_names, METH_NOARGS,
     "state_names($self, /)\n--\n\nEvery state tensor: \"<net>.<reference name>\" for network parameters and\n"
     "buffers, \"opt_<net>.exp_avg.<reference name>\" and \"opt_<net>.exp_avg_sq.<reference name>\" for Adam."},
    {"counter_names", (PyCFunction)Model_counter_names, METH_NOARGS,
     "counter_names($self, /)\n--\n\nThe integer state (\"step\", \"rng_seed\", \"rng_offset\", \"opt_<net>.step\")."},
    {"train_step", (PyCFunction)(void (*)(void))Model_train_step, METH_VARARGS | METH_KEYWORDS,
     "train_step($self, /, inputs, should_stop=None)\n--\n\n"
     "One training step on a sequence of Tensors (dcgan: one batch of real images [B, C, H, W] in [-1, 1]);\n"
     "returns one value per loss name. should_stop: a callable asked about every 50 ms during the step, after\n"
     "Python's pending signal handlers have run; when it returns true the step is rolled back, leaving the model\n"
     "as it was, and KeyboardInterrupt is raised (when it or a signal handler raises, that exception is).\n"
     "Under data parallelism the step is not interruptible."},
    {"forward", (PyCFunction)(void (*)(void))Model_forward, METH_VARARGS | METH_KEYWORDS,
     "forward($self, /, net, x, training=False)\n--\n\n"
     "Runs network `net` on x without recording. training: batch statistics (running averages are updated)."},
    {"generate", (PyCFunction)(void (*)(void))Model_generate, METH_VARARGS | METH_KEYWORDS,
     "generate($self, /, n, seed)\n--\n\n"
     "n samples drawn from `seed` alone (not from the training RNG), in evaluation mode: [n, C, H, W] in [-1, 1]."},
    {"call", (PyCFunction)(void (*)(void))Model_call, METH_VARARGS | METH_KEYWORDS,
     "call($self, /, method, inputs, attrs=None)\n--\n\n"
     "A model-specific method (stylegan 'mapping', 'synthesis') on `inputs`, a dict of str -> Tensor, with\n"
     "`attrs`, a dict of str -> bool | int | float. Nothing is recorded for autodiff."},
    {"state_tensor", (PyCFunction)(void (*)(void))Model_state_tensor, METH_VARARGS | METH_KEYWORDS,
     "state_tensor($self, /, name)\n--\n\n"
     "The live state tensor `name`: writing into it (copy_) changes the model; reading or writing it waits for a\n"
     "training step on another thread, as any call on the model does."},
    {"get_counter", (PyCFunction)(void (*)(void))Model_get_counter, METH_VARARGS | METH_KEYWORDS,
     "get_counter($self, /, name)\n--\n\nThe value of an integer state entry."},
    {"set_counter", (PyCFunction)(void (*)(void))Model_set_counter, METH_VARARGS | METH_KEYWORDS,
     "set_counter($self, /, name, value)\n--\n\nSets an integer state entry (to resume from a checkpoint)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Model_slots[] = {
    {Py_tp_doc,
     PyDoc_STR("Model(kind, config, max_state_floats=-1)\n--\n\n"
               "An engine model: its networks, optimizers, RNG and step counter. kind 'dcgan', 'cyclegan'\n"
               "or 'stylegan'; config a JSON object of the fields of config_schema(kind) (absent ones take\n"
               "their defaults); max_state_floats >= 0 caps what building it may allocate. Calls on one\n"
               "model from several threads take turns (each waits with the GIL released).")},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_init, (void *)Model_init},
    {Py_tp_dealloc, (void *)Model_dealloc},
    {Py_tp_methods, Model_methods},
    {0, NULL},
};

static PyType_Spec Model_spec = {
    .name = "swiftgan._native.Model",
    .basicsize = sizeof(ModelObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Model_slots,
};

/* ------------------------------------------------------------------------------------------------------ */
/* Projector */

static int Projector_init(ProjectorObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"model", "target", "c", "attrs", NULL};
    PyObject *model, *target, *c = Py_None, *attrs_dict = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|OO:Projector", kwlist, &model, &target, &c, &attrs_dict)) {
        return -1;
    }
    if (self->handle != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Projector is already initialised");
        return -1;
    }
    if (!PyObject_TypeCheck(model, ModelType) || ((ModelObject *)model)->handle == NULL) {
        raise_kind("Projector", "model", "an initialised swiftgan._native.Model", model);
        return -1;
    }
    if (!is_tensor(target)) {
        raise_kind("Projector", "target", "a swiftgan.Tensor", target);
        return -1;
    }
    if (c != Py_None && !is_tensor(c)) {
        raise_kind("Projector", "c", "a swiftgan.Tensor or None", c);
        return -1;
    }
    Attrs attrs;
    if (attrs_parse(attrs_dict, "Projector", &attrs) < 0) {
        return -1;
    }
    sg_projector *out = NULL;
    PyObject *keep = PyTuple_Pack(3, model, target, c);  /* kept alive while the GIL is released */
    int ok = keep != NULL &&
             ENGINE(sg_projector_create(((ModelObject *)model)->handle, ((TensorObject *)target)->handle,
                                        c == Py_None ? NULL : ((TensorObject *)c)->handle, attrs.count, attrs.names,
                                        attrs.values, &out));
    Py_XDECREF(keep);
    attrs_free(&attrs);
    if (!ok) {
        return -1;
    }
    self->handle = out;
    live_projectors++;
    return 0;
}

static void Projector_dealloc(ProjectorObject *self) {
    if (self->handle != NULL) {
        live_projectors--;
    }
    sg_projector_release(self->handle);
    object_free((PyObject *)self);
}

/* Whether the projector was initialised; sets an exception and returns 0 otherwise. */
static int projector_ready(ProjectorObject *self) {
    if (self->handle == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Projector.__init__ was not called");
        return 0;
    }
    return 1;
}

static PyObject *Projector_step(ProjectorObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"should_stop", NULL};
    StopRequest request = {NULL, 0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:step", kwlist, &request.should_stop) ||
        !projector_ready(self)) {
        return NULL;
    }
    if (request.should_stop == Py_None) {
        request.should_stop = NULL;
    }
    if (request.should_stop != NULL && !PyCallable_Check(request.should_stop)) {
        return raise_kind("step", "should_stop", "a callable or None", request.should_stop);
    }
    double losses[3] = {0, 0, 0};
    int ok = request.should_stop != NULL
        ? ENGINE(sg_projector_step(self->handle, losses, ask_should_stop, &request))
        : ENGINE(sg_projector_step(self->handle, losses, NULL, NULL));
    return ok ? Py_BuildValue("(ddd)", losses[0], losses[1], losses[2]) : NULL;
}

static PyObject *Projector_get_steps_taken(ProjectorObject *self, void *Py_UNUSED(closure)) {
    int64_t steps = 0;
    if (!projector_ready(self) || !ENGINE(sg_projector_steps_taken(self->handle, &steps))) {
        return NULL;
    }
    return PyLong_FromLongLong(steps);
}

static PyObject *Projector_tensor_names(ProjectorObject *self, PyObject *Py_UNUSED(ignored)) {
    return projector_ready(self) ? split_names(sg_projector_tensor_names(self->handle)) : NULL;
}

static PyObject *Projector_tensor(ProjectorObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"name", NULL};
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s:tensor", kwlist, &name) || !projector_ready(self)) {
        return NULL;
    }
    sg_tensor *out = NULL;
    return ENGINE(sg_projector_tensor(self->handle, name, &out)) ? tensor_result(out, "tensor") : NULL;
}

static PyGetSetDef Projector_getset[] = {
    {"steps_taken", (getter)Projector_get_steps_taken, NULL, "The optimization steps taken so far.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Projector_methods[] = {
    {"step", (PyCFunction)(void (*)(void))Projector_step, METH_VARARGS | METH_KEYWORDS,
     "step($self, /, should_stop=None)\n--\n\n"
     "One optimization step; returns (loss, distance, noise regularization). should_stop: a callable asked about\n"
     "every 50 ms during the step, after Python's pending signal handlers have run; when it returns true the step is\n"
     "abandoned, leaving the projection as it was, and KeyboardInterrupt is raised."},
    {"tensor_names", (PyCFunction)Projector_tensor_names, METH_NOARGS,
     "tensor_names($self, /)\n--\n\nws, image, then noise.<layer> for every noise map."},
    {"tensor", (PyCFunction)(void (*)(void))Projector_tensor, METH_VARARGS | METH_KEYWORDS,
     "tensor($self, /, name)\n--\n\nA copy of one of tensor_names(): ws [1, num_ws, w_dim], the image of the current\n"
     "ws and noise maps [1, C, R, R], or a noise map."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Projector_slots[] = {
    {Py_tp_doc,
     PyDoc_STR("Projector(model, target, c=None, attrs=None)\n--\n\n"
               "A projection of target [1, C, R, R] into a StyleGAN2 model's latent space (NVlabs' projector\n"
               "recipe; attrs as swiftgan.h lists them). It keeps its own copy of the model's networks.\n"
               "Calls from several threads take turns.")},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_init, (void *)Projector_init},
    {Py_tp_dealloc, (void *)Projector_dealloc},
    {Py_tp_methods, Projector_methods},
    {Py_tp_getset, Projector_getset},
    {0, NULL},
};

static PyType_Spec Projector_spec = {
    .name = "swiftgan._native.Projector",
    .basicsize = sizeof(ProjectorObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Projector_slots,
};

/* ------------------------------------------------------------------------------------------------------ */
/* module */

static PyMethodDef module_methods[] = {
    {"live_handles", (PyCFunction)mod_live_handles, METH_NOARGS,
     "live_handles()\n--\n\nEngine handles held by live Tensor, Optimizer, Model and Projector objects (leak checks)."},
    {"dist_init", (PyCFunction)(void (*)(void))mod_dist_init, METH_VARARGS | METH_KEYWORDS,
     "dist_init(library=None)\n--\n\nLoads Open MPI with dlopen and joins MPI_COMM_WORLD (once per process); returns "
     "(rank, size)."},
    {"dist_finalize", (PyCFunction)mod_dist_finalize, METH_NOARGS,
     "dist_finalize()\n--\n\nMPI_Finalize, if dist_init initialized MPI."},
    {"dist_barrier", (PyCFunction)mod_dist_barrier, METH_NOARGS, "dist_barrier()\n--\n\nWaits for every rank."},
    {"dist_abort", (PyCFunction)mod_dist_abort, METH_O,
     "dist_abort(code, /)\n--\n\nMPI_Abort: ends every rank of the job with exit status code."},
    {"dist_allreduce_sum", (PyCFunction)mod_dist_allreduce_sum, METH_O,
     "dist_allreduce_sum(values, /)\n--\n\nThe element-wise sums of values over all ranks."},
    {"tensor", (PyCFunction)(void (*)(void))mod_tensor, METH_VARARGS | METH_KEYWORDS,
     "tensor(array, requires_grad=False, *, name='array', caller='tensor')\n--\n\n"
     "A new tensor holding a copy of `array`, a float32 C-contiguous numpy array with at most 8 dimensions.\n"
     "`name` and `caller` only shape error messages (\"<caller>: argument '<name>' ...\")."},
    {"op", (PyCFunction)(void (*)(void))mod_op, METH_VARARGS | METH_KEYWORDS,
     "op(name, inputs, attrs=None)\n--\n\n"
     "Runs the engine op `name` (see op_names()) on `inputs`, a dict of str -> Tensor | None, with `attrs`,\n"
     "a dict of str -> bool | int | float. Records on the autodiff tape when grad is enabled."},
    {"grad", (PyCFunction)(void (*)(void))mod_grad, METH_VARARGS | METH_KEYWORDS,
     "grad(outputs, inputs, grad_outputs=None, create_graph=False)\n--\n\n"
     "Gradients of sum_i <outputs[i], grad_outputs[i]> with respect to each of `inputs` (None where an\n"
     "input does not influence the outputs). grad_outputs may be None, or hold None, for scalar outputs."},
    {"set_num_threads", (PyCFunction)mod_set_num_threads, METH_O,
     "set_num_threads(n, /)\n--\n\nThreads used by the engine's parallel loops and by its BLAS; n >= 1."},
    {"get_num_threads", (PyCFunction)mod_get_num_threads, METH_NOARGS,
     "get_num_threads()\n--\n\nThreads used by the engine."},
    {"set_cache_limit", (PyCFunction)mod_set_cache_limit, METH_O,
     "set_cache_limit(nbytes, /)\n--\n\n"
     "Most bytes of freed large buffers the engine keeps for reuse (default: a quarter of physical memory);\n"
     "0 turns the cache off. Lowering it frees what lies beyond the new limit."},
    {"get_cache_limit", (PyCFunction)mod_get_cache_limit, METH_NOARGS,
     "get_cache_limit()\n--\n\nThe buffer cache's limit in bytes."},
    {"cached_bytes", (PyCFunction)mod_cached_bytes, METH_NOARGS,
     "cached_bytes()\n--\n\nBytes of freed buffers the engine holds for reuse."},
    {"empty_cache", (PyCFunction)mod_empty_cache, METH_NOARGS,
     "empty_cache()\n--\n\nReturns every buffer the engine holds for reuse to the system."},
    {"set_grad_enabled", (PyCFunction)mod_set_grad_enabled, METH_O,
     "set_grad_enabled(enabled, /)\n--\n\n"
     "Whether ops record on the autodiff tape on this thread; returns the previous setting."},
    {"op_names", (PyCFunction)mod_op_names, METH_NOARGS, "op_names()\n--\n\nThe names of every engine op."},
    {"random_normal", (PyCFunction)(void (*)(void))mod_random_normal, METH_VARARGS | METH_KEYWORDS,
     "random_normal(seed, offset, shape)\n--\n\n"
     "Standard normal samples from a counter-based RNG: the same seed and offset give the same values."},
    {"random_uniform", (PyCFunction)(void (*)(void))mod_random_uniform, METH_VARARGS | METH_KEYWORDS,
     "random_uniform(seed, offset, shape)\n--\n\n"
     "Uniform samples in [0, 1) from a counter-based RNG: the same seed and offset give the same values."},
    {"ema_update", (PyCFunction)(void (*)(void))mod_ema_update, METH_VARARGS | METH_KEYWORDS,
     "ema_update(ema, params, decay)\n--\n\n"
     "ema[i] = decay * ema[i] + (1 - decay) * params[i], in place, for two equally long sequences of Tensors."},
    {"config_schema", (PyCFunction)mod_config_schema, METH_O,
     "config_schema(kind, /)\n--\n\nThe JSON schema of a model kind's configuration (see swiftgan.h)."},
    {"conv_algorithms", (PyCFunction)(void (*)(void))mod_conv_algorithms, METH_VARARGS | METH_KEYWORDS,
     "conv_algorithms(x_shape, weight_shape, stride=1, padding=0, output_padding=0, transposed=False)\n--\n\n"
     "The algorithms of conv2d's (or conv_transpose2d's) forward pass, input gradient and weight gradient."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "swiftgan._native",
    .m_doc = "The CPython binding of the swiftgan engine (libswiftgan).",
    .m_size = -1,
    .m_methods = module_methods,
};

/* The init function: PyInit__native, or PyInit__native_<level> for a wheel's per-CPU builds (setup.py defines
 * SWIFTGAN_MODULE; swiftgan._cpu imports the right one). Every build names itself swiftgan._native. */
#ifndef SWIFTGAN_MODULE
#define SWIFTGAN_MODULE _native
#endif
#define SG_CONCAT(a, b) a##b
#define SG_MODULE_INIT(module) SG_CONCAT(PyInit_, module)

PyMODINIT_FUNC SG_MODULE_INIT(SWIFTGAN_MODULE)(void) {
    TensorType = (PyTypeObject *)PyType_FromSpec(&Tensor_spec);
    OptimizerType = (PyTypeObject *)PyType_FromSpec(&Optimizer_spec);
    ModelType = (PyTypeObject *)PyType_FromSpec(&Model_spec);
    ProjectorType = (PyTypeObject *)PyType_FromSpec(&Projector_spec);
    if (TensorType == NULL || OptimizerType == NULL || ModelType == NULL || ProjectorType == NULL) {
        return NULL;
    }
    PyObject *numpy = PyImport_ImportModule("numpy");
    if (numpy == NULL) {
        return NULL;
    }
    np_ndarray = PyObject_GetAttrString(numpy, "ndarray");
    np_empty = PyObject_GetAttrString(numpy, "empty");
    PyObject *dtype = PyObject_GetAttrString(numpy, "dtype");
    np_float32 = dtype == NULL ? NULL : PyObject_CallFunction(dtype, "s", "float32");
    PyObject *array_struct = np_ndarray == NULL ? NULL : PyObject_GetAttrString(np_ndarray, "__array_struct__");
    np_array_struct = array_struct == NULL ? NULL : PyObject_GetAttrString(array_struct, "__get__");
    Py_XDECREF(array_struct);
    Py_XDECREF(dtype);
    Py_DECREF(numpy);
    if (np_ndarray == NULL || np_empty == NULL || np_float32 == NULL || np_array_struct == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&native_module);
    if (module == NULL) {
        return NULL;
    }
    SwiftGANError = PyErr_NewExceptionWithDoc(
        "swiftgan.SwiftGANError", "An engine failure that is not a bad argument, a dtype or a file error.",
        PyExc_RuntimeError, NULL);
    if (SwiftGANError == NULL || PyModule_AddObjectRef(module, "SwiftGANError", SwiftGANError) < 0 ||
        PyModule_AddObjectRef(module, "Tensor", (PyObject *)TensorType) < 0 ||
        PyModule_AddObjectRef(module, "Optimizer", (PyObject *)OptimizerType) < 0 ||
        PyModule_AddObjectRef(module, "Model", (PyObject *)ModelType) < 0 ||
        PyModule_AddObjectRef(module, "Projector", (PyObject *)ProjectorType) < 0 ||
        PyModule_AddIntConstant(module, "MAX_NDIM", SG_MAX_NDIM) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
