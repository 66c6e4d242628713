package checkpoint

import (
	"fmt"
	"math/big"
)

// Item is one key/value pair of a Dict.
type Item struct {
	Key   any
	Value any
}

// Dict is a Python dict or collections.OrderedDict, in insertion order.
// Keys are usually strings but may be any hashable decoded value (optimizer
// state uses int64 keys). Setting an existing key replaces its value in place,
// as in Python.
type Dict struct {
	// Ordered is true for collections.OrderedDict (torch state dicts), false
	// for a plain dict. Save writes the corresponding Python type.
	Ordered bool
	// Items holds the entries in order. Use Set/Get/Delete to keep the
	// lookup index consistent; appending directly is allowed only for keys
	// not present yet, followed by no lookups (the index is rebuilt lazily
	// when len(Items) changes).
	Items []Item
	// Attrs holds instance attributes set by pickle BUILD, e.g. the
	// "_metadata" OrderedDict of a torch state dict. Nil when there are none.
	Attrs *Dict

	index   map[any]int // simple keys only; valid when indexed == len(Items)
	indexed int
}

// NewDict returns an empty plain dict.
func NewDict() *Dict { return &Dict{} }

// NewOrderedDict returns an empty OrderedDict.
func NewOrderedDict() *Dict { return &Dict{Ordered: true} }

// Len returns the number of entries.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.Items)
}

func simpleKey(k any) bool {
	switch k.(type) {
	case string, int64, bool, float64, nil:
		return true
	}
	return false
}

func (d *Dict) find(key any) int {
	if simpleKey(key) {
		if d.index == nil || d.indexed != len(d.Items) {
			d.index = make(map[any]int, len(d.Items))
			for i, it := range d.Items {
				if simpleKey(it.Key) {
					if _, dup := d.index[it.Key]; !dup {
						d.index[it.Key] = i
					}
				}
			}
			d.indexed = len(d.Items)
		}
		if i, ok := d.index[key]; ok && i < len(d.Items) && keyEqual(d.Items[i].Key, key) {
			return i
		}
		// Fall through to a scan: the index may be stale after a Delete.
	}
	for i, it := range d.Items {
		if keyEqual(it.Key, key) {
			return i
		}
	}
	return -1
}

// Get returns the value stored under key.
func (d *Dict) Get(key any) (any, bool) {
	if d == nil {
		return nil, false
	}
	if i := d.find(key); i >= 0 {
		return d.Items[i].Value, true
	}
	return nil, false
}

// Set stores value under key, replacing an existing value in place or
// appending a new entry.
func (d *Dict) Set(key, value any) {
	if i := d.find(key); i >= 0 {
		d.Items[i].Value = value
		return
	}
	d.Items = append(d.Items, Item{Key: key, Value: value})
	if d.index != nil && simpleKey(key) && d.indexed == len(d.Items)-1 {
		d.index[key] = len(d.Items) - 1
		d.indexed = len(d.Items)
	}
}

// Delete removes key if present and reports whether it was.
func (d *Dict) Delete(key any) bool {
	i := d.find(key)
	if i < 0 {
		return false
	}
	d.Items = append(d.Items[:i], d.Items[i+1:]...)
	d.index = nil
	return true
}

// Keys returns the keys in order.
func (d *Dict) Keys() []any {
	keys := make([]any, d.Len())
	for i, it := range d.Items {
		keys[i] = it.Key
	}
	return keys
}

// Dict returns the value under key if it is a *Dict.
func (d *Dict) Dict(key string) *Dict {
	v, _ := d.Get(key)
	sub, _ := v.(*Dict)
	return sub
}

// keyEqual compares decoded keys with Python-like equality for the types
// that occur as keys (int/bool cross-type equality is not modelled).
func keyEqual(a, b any) bool {
	switch x := a.(type) {
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case Tuple:
		y, ok := b.(Tuple)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !keyEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	}
	switch b.(type) {
	case *big.Int, Tuple, []byte, List, Set:
		return false
	}
	defer func() { _ = recover() }() // uncomparable dynamic types
	return a == b
}

// List is a Python list.
type List []any

// Tuple is a Python tuple (also torch.Size).
type Tuple []any

// Set is a Python set or frozenset (order as pickled).
type Set []any

// Object is a value of a Python class this package does not interpret, kept
// opaque: REDUCE/NEWOBJ arguments and the BUILD state. A bare class or
// function reference (e.g. the dtype torch.float32) is an Object with
// IsClass set.
type Object struct {
	Module, Name string
	Args         []any // constructor arguments (REDUCE or NEWOBJ)
	State        any   // BUILD state (often a *Dict of attributes); nil if none
	IsClass      bool  // the value is the class/function itself
}

func (o *Object) String() string {
	if o.IsClass {
		return fmt.Sprintf("<class %s.%s>", o.Module, o.Name)
	}
	return fmt.Sprintf("<%s.%s object>", o.Module, o.Name)
}

// DType is a tensor element type, named as in torch (torch.float32 is
// "float32").
type DType string

// Supported dtypes.
const (
	Float32  DType = "float32"
	Float16  DType = "float16"
	BFloat16 DType = "bfloat16"
	Float64  DType = "float64"
	Int64    DType = "int64"
	Int32    DType = "int32"
	Int16    DType = "int16"
	Int8     DType = "int8"
	Uint8    DType = "uint8"
	Bool     DType = "bool"
)

// dtypeInfo maps dtypes to torch storage class names and element sizes.
var dtypeInfo = map[DType]struct {
	storage string
	size    int
}{
	Float32:  {"FloatStorage", 4},
	Float16:  {"HalfStorage", 2},
	BFloat16: {"BFloat16Storage", 2},
	Float64:  {"DoubleStorage", 8},
	Int64:    {"LongStorage", 8},
	Int32:    {"IntStorage", 4},
	Int16:    {"ShortStorage", 2},
	Int8:     {"CharStorage", 1},
	Uint8:    {"ByteStorage", 1},
	Bool:     {"BoolStorage", 1},
}

var storageDType = func() map[string]DType {
	m := make(map[string]DType)
	for dt, info := range dtypeInfo {
		m[info.storage] = dt
	}
	return m
}()

// IsFloat reports whether the dtype is a floating-point type (stored in F32).
func (dt DType) IsFloat() bool {
	return dt == Float32 || dt == Float16 || dt == BFloat16 || dt == Float64
}

// Size returns the element size in bytes, or 0 for an unknown dtype.
func (dt DType) Size() int { return dtypeInfo[dt].size }

// Valid reports whether dt is one of the supported dtypes.
func (dt DType) Valid() bool { _, ok := dtypeInfo[dt]; return ok }

// Tensor is a dense tensor in C (row-major) order.
//
// Floating-point tensors hold their values in F32 (float16/bfloat16 widened
// exactly, float64 rounded); a float64 tensor additionally keeps the exact
// values in F64. Integer and bool tensors hold their values in I64 (bool as
// 0/1). DType is the dtype of the checkpoint (or the dtype to write).
type Tensor struct {
	DType        DType
	Shape        []int // [] for a zero-dim tensor
	F32          []float32
	F64          []float64 // float64 tensors only; optional when writing
	I64          []int64
	RequiresGrad bool
}

// Numel returns the number of elements the shape describes.
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

func (t *Tensor) String() string { return fmt.Sprintf("Tensor(%s%v)", t.DType, t.Shape) }

// NewFloat32 returns a float32 tensor that uses data (not copied).
func NewFloat32(shape []int, data []float32) *Tensor {
	return &Tensor{DType: Float32, Shape: append([]int{}, shape...), F32: data}
}

// NewInt64 returns an int64 tensor that uses data (not copied).
func NewInt64(shape []int, data []int64) *Tensor {
	return &Tensor{DType: Int64, Shape: append([]int{}, shape...), I64: data}
}

// StateDict is a torch state dict: tensors by key, in order.
type StateDict struct {
	Keys    []string
	Tensors map[string]*Tensor
	// Metadata is the state dict's "_metadata" attribute (an OrderedDict
	// mapping module prefixes to {"version": n}), or nil. torch uses the
	// BatchNorm version to decide whether a missing num_batches_tracked is
	// an error.
	Metadata *Dict
}

// NewStateDict returns an empty state dict.
func NewStateDict() *StateDict { return &StateDict{Tensors: map[string]*Tensor{}} }

// Add appends (or replaces) a tensor under key.
func (sd *StateDict) Add(key string, t *Tensor) {
	if sd.Tensors == nil {
		sd.Tensors = map[string]*Tensor{}
	}
	if _, ok := sd.Tensors[key]; !ok {
		sd.Keys = append(sd.Keys, key)
	}
	sd.Tensors[key] = t
}

// Len returns the number of tensors.
func (sd *StateDict) Len() int { return len(sd.Keys) }

// Dict converts the state dict to an OrderedDict value with _metadata in
// Attrs (as Save writes it).
func (sd *StateDict) Dict() *Dict {
	d := NewOrderedDict()
	d.Items = make([]Item, 0, len(sd.Keys))
	for _, k := range sd.Keys {
		d.Items = append(d.Items, Item{Key: k, Value: sd.Tensors[k]})
	}
	if sd.Metadata != nil {
		d.Attrs = NewDict()
		d.Attrs.Set("_metadata", sd.Metadata)
	}
	return d
}
