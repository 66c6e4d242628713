package checkpoint

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
	"sort"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// loader holds the state of one Load: the storages referenced by the pickle
// and the materialisation budget.
type loader struct {
	legacy   bool
	storages map[string]*storageRef
	budget   int64 // bytes the materialised tensors may still take
	depth    int   // 1 inside a storage embedded by _load_from_bytes
	maxBytes int   // largest pickle accepted; 0: maxPickleBytes
}

func newLoader(fileSize int64, legacy bool) *loader {
	return &loader{
		legacy:   legacy,
		storages: map[string]*storageRef{},
		// A tensor can be larger than its storage only through zero strides
		// (expand); real checkpoints never need more than ~2x the file size
		// (float16 widened to float32).
		budget: 16*fileSize + 4<<20,
	}
}

// storageRef is a storage named by a persistent id. raw is filled after
// unpickling, from the zip record or the legacy tail.
type storageRef struct {
	key   string
	dtype DType
	numel int
	raw   []byte
	ok    bool
}

// storageClass is a torch.<X>Storage global.
type storageClass struct {
	name  string
	dtype DType // "" when unsupported (complex, quantized, untyped)
}

// pendingTensor is what _rebuild_tensor_v2 returns during unpickling; it is
// materialised by convert once the storages are read.
type pendingTensor struct {
	storage      *storageRef
	offset       int
	size, stride []int
	requiresGrad bool
}

// pyClass is any other global: a class or function this package does not
// interpret. Calling it (REDUCE) or instantiating it (NEWOBJ) records the
// arguments in a pyObject.
type pyClass struct {
	module, name string
	call         func(args []any) (any, error) // special behaviour, or nil
}

type pyObject struct {
	class *pyClass
	args  []any
	state any
}

type setValue struct{ items []any }

func (c *pyClass) Call(args ...any) (any, error) {
	if c.call != nil {
		return c.call(args)
	}
	return &pyObject{class: c, args: args}, nil
}

func (c *pyClass) PyNew(args ...any) (any, error) {
	return &pyObject{class: c, args: args}, nil
}

func (o *pyObject) PySetState(state any) error {
	o.state = state
	return nil
}

func (o *pyObject) PyDictSet(key, value any) error {
	d, ok := o.state.(*types.Dict)
	if !ok {
		d = types.NewDict()
		o.state = d
	}
	d.Set(key, value)
	return nil
}

var (
	_ types.Callable        = (*pyClass)(nil)
	_ types.PyNewable       = (*pyClass)(nil)
	_ types.PyStateSettable = (*pyObject)(nil)
)

// findClass resolves pickle globals. It never fails: unknown names become
// opaque classes, so that mmengine/numpy objects outside the state dict load.
func (l *loader) findClass(module, name string) (any, error) {
	if module == "torch" || module == "torch.cuda" {
		if dt, ok := storageDType[name]; ok {
			return &storageClass{name: name, dtype: dt}, nil
		}
		switch name {
		case "ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage",
			"QUInt4x2Storage", "QUInt2x4Storage", "UntypedStorage", "ByteStorage_", "ComplexHalfStorage":
			return &storageClass{name: name}, nil
		case "Size":
			return &pyClass{module: module, name: name, call: func(args []any) (any, error) {
				if len(args) == 0 {
					return types.NewTupleFromSlice(nil), nil
				}
				return args[0], nil
			}}, nil
		}
	}
	c := &pyClass{module: module, name: name}
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		c.call = rebuildTensor
	case "torch._utils._rebuild_tensor_v3":
		c.call = func([]any) (any, error) {
			return nil, UnsupportedError("torch._utils._rebuild_tensor_v3 (torch >= 2.1 untyped storages)")
		}
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		c.call = func(args []any) (any, error) {
			if len(args) < 2 {
				return nil, FormatError("_rebuild_parameter needs at least 2 arguments")
			}
			if p, ok := args[0].(*pendingTensor); ok {
				if rg, ok := args[1].(bool); ok {
					cp := *p
					cp.requiresGrad = rg
					return &cp, nil
				}
			}
			return args[0], nil
		}
	case "_codecs.encode":
		c.call = codecsEncode
	case "torch.storage._load_from_bytes":
		c.call = l.loadFromBytes
	case "__builtin__.set", "builtins.set", "__builtin__.frozenset", "builtins.frozenset":
		c.call = func(args []any) (any, error) {
			s := &setValue{}
			if len(args) > 0 {
				switch x := args[0].(type) {
				case *types.List:
					s.items = append(s.items, (*x)...)
				case *types.Tuple:
					s.items = append(s.items, (*x)...)
				default:
					return &pyObject{class: c, args: args}, nil
				}
			}
			return s, nil
		}
	case "__builtin__.bytearray", "builtins.bytearray", "__builtin__.bytes", "builtins.bytes":
		c.call = func(args []any) (any, error) {
			if len(args) == 0 {
				return []byte{}, nil
			}
			if b, ok := args[0].([]byte); ok {
				return append([]byte{}, b...), nil
			}
			if len(args) == 2 {
				return codecsEncode(args)
			}
			return &pyObject{class: c, args: args}, nil
		}
	}
	return c, nil
}

// codecsEncode implements _codecs.encode(str, encoding), which protocol-2
// pickles use for bytes objects: latin-1 maps each code point to one byte.
func codecsEncode(args []any) (any, error) {
	if len(args) < 1 {
		return nil, FormatError("_codecs.encode without arguments")
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, FormatError("_codecs.encode of a non-string")
	}
	enc := "latin1"
	if len(args) > 1 {
		if e, ok := args[1].(string); ok {
			enc = e
		}
	}
	switch enc {
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
		out := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 255 {
				return nil, FormatError("_codecs.encode: character outside latin-1")
			}
			out = append(out, byte(r))
		}
		return out, nil
	case "utf-8", "utf8", "ascii":
		return []byte(s), nil
	}
	return nil, unsupportedf("_codecs.encode with encoding %q", enc)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func intTuple(v any) ([]int, bool) {
	var items []any
	switch x := v.(type) {
	case *types.Tuple:
		items = *x
	case *types.List:
		items = *x
	default:
		return nil, false
	}
	out := make([]int, len(items))
	for i, it := range items {
		n, ok := toInt(it)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// rebuildTensor implements torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) and
// the older _rebuild_tensor(storage, storage_offset, size, stride).
func rebuildTensor(args []any) (any, error) {
	if len(args) < 4 || len(args) > 7 {
		return nil, formatErrorf("_rebuild_tensor_v2 with %d arguments", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, formatErrorf("_rebuild_tensor_v2: first argument is %T, not a storage", args[0])
	}
	off, ok := toInt(args[1])
	if !ok {
		return nil, FormatError("_rebuild_tensor_v2: storage offset is not an int")
	}
	size, ok := intTuple(args[2])
	if !ok {
		return nil, FormatError("_rebuild_tensor_v2: size is not a tuple of ints")
	}
	stride, ok := intTuple(args[3])
	if !ok {
		return nil, FormatError("_rebuild_tensor_v2: stride is not a tuple of ints")
	}
	if len(size) != len(stride) {
		return nil, formatErrorf("_rebuild_tensor_v2: size %v and stride %v differ in length", size, stride)
	}
	t := &pendingTensor{storage: st, offset: off, size: size, stride: stride}
	if len(args) > 4 {
		t.requiresGrad, _ = args[4].(bool)
	}
	if len(args) == 7 {
		// torch >= 2 metadata (conj/neg bits); only an empty one is harmless.
		switch m := args[6].(type) {
		case nil:
		case *types.Dict:
			if m.Len() != 0 {
				return nil, UnsupportedError("tensor metadata (conjugate/negative bit views)")
			}
		case *types.OrderedDict:
			if m.Len() != 0 {
				return nil, UnsupportedError("tensor metadata (conjugate/negative bit views)")
			}
		default:
			return nil, UnsupportedError("tensor metadata (conjugate/negative bit views)")
		}
	}
	return t, nil
}

// persistentLoad resolves ('storage', cls, key, location, numel[, view_metadata]).
func (l *loader) persistentLoad(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok {
		return nil, formatErrorf("persistent id is %T, not a tuple", pid)
	}
	if t.Len() > 0 {
		if s, _ := t.Get(0).(string); s == "module" {
			return nil, UnsupportedError("pickled nn.Module source (a whole model saved with torch.save); save its state_dict() instead")
		}
	}
	want := 5
	if l.legacy {
		want = 6
	}
	if t.Len() != want {
		return nil, formatErrorf("persistent id with %d items, want %d", t.Len(), want)
	}
	if s, _ := t.Get(0).(string); s != "storage" {
		return nil, formatErrorf("persistent id of type %v, want 'storage'", t.Get(0))
	}
	cls, ok := t.Get(1).(*storageClass)
	if !ok {
		return nil, formatErrorf("persistent id names %v, not a torch storage class", describe(t.Get(1)))
	}
	if cls.dtype == "" {
		return nil, unsupportedf("storage type torch.%s", cls.name)
	}
	key, ok := t.Get(2).(string)
	if !ok {
		return nil, FormatError("persistent id storage key is not a string")
	}
	numel, ok := toInt(t.Get(4))
	if !ok || numel < 0 {
		return nil, FormatError("persistent id storage size is not a non-negative int")
	}
	if numel > math.MaxInt64/16 {
		return nil, formatErrorf("storage of %d elements", numel)
	}
	if l.legacy && t.Get(5) != nil {
		return nil, UnsupportedError("legacy storage views (view_metadata)")
	}
	if r, ok := l.storages[key]; ok {
		if r.dtype != cls.dtype || r.numel != numel {
			return nil, formatErrorf("storage %q declared as both %s[%d] and %s[%d]", key, r.dtype, r.numel, cls.dtype, numel)
		}
		return r, nil
	}
	r := &storageRef{key: key, dtype: cls.dtype, numel: numel}
	l.storages[key] = r
	return r, nil
}

func describe(v any) string {
	switch x := v.(type) {
	case *pyClass:
		return x.module + "." + x.name
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("a %T", v)
}

// unpickle validates and decodes one pickle at the start of data, returning
// the raw gopickle value and the number of bytes consumed.
func (l *loader) unpickle(data []byte, storages bool) (v any, n int, err error) {
	n, err = scanPickleLimit(data, cmp.Or(l.maxBytes, maxPickleBytes))
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, formatErrorf("malformed pickle (decoder panic: %v)", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data[:n]))
	u.FindClass = l.findClass
	if storages {
		u.PersistentLoad = l.persistentLoad
	} else {
		u.PersistentLoad = func(any) (any, error) {
			return nil, FormatError("unexpected persistent id (not a torch.save pickle)")
		}
	}
	u.GetExtension = func(code int) (any, error) {
		return nil, unsupportedf("pickle extension code %d", code)
	}
	v, err = u.Load()
	if err != nil {
		switch err.(type) {
		case FormatError, UnsupportedError:
			return nil, 0, err
		}
		return nil, 0, formatErrorf("malformed pickle: %v", err)
	}
	return v, n, nil
}

// converter turns gopickle values into this package's values.
type converter struct {
	l       *loader
	done    map[any]any
	running map[any]bool
}

func (l *loader) convert(v any) (any, error) {
	c := &converter{l: l, done: map[any]any{}, running: map[any]bool{}}
	return c.conv(v, 0)
}

func isPtr(v any) bool {
	switch v.(type) {
	case *types.Dict, *types.OrderedDict, *types.List, *types.Tuple, *types.Set, *types.FrozenSet,
		*pendingTensor, *pyObject, *setValue, *types.ByteArray:
		return true
	}
	return false
}

func (c *converter) conv(v any, depth int) (out any, err error) {
	if depth > maxValueDepth {
		return nil, unsupportedf("values nested deeper than %d", maxValueDepth)
	}
	if isPtr(v) {
		if r, ok := c.done[v]; ok {
			return r, nil
		}
		if c.running[v] {
			return nil, UnsupportedError("recursive (self-referencing) value")
		}
		c.running[v] = true
		defer func() {
			delete(c.running, v)
			if err == nil {
				c.done[v] = out
			}
		}()
	}
	switch x := v.(type) {
	case nil, bool, float64, string:
		return x, nil
	case int:
		return int64(x), nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return new(big.Int).Set(x), nil
	case []byte:
		return append([]byte{}, x...), nil
	case *types.ByteArray:
		return append([]byte{}, (*x)...), nil
	case *types.Tuple:
		return c.convSlice(*x, depth, func(s []any) any { return Tuple(s) })
	case *types.List:
		return c.convSlice(*x, depth, func(s []any) any { return List(s) })
	case *setValue:
		return c.convSlice(x.items, depth, func(s []any) any { return Set(s) })
	case *types.Set:
		return c.convSet(keysOf(*x), depth)
	case *types.FrozenSet:
		return c.convSet(frozenKeysOf(*x), depth)
	case *types.Dict:
		d := &Dict{}
		for _, e := range *x {
			k, err := c.conv(e.Key, depth+1)
			if err != nil {
				return nil, err
			}
			val, err := c.conv(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			d.Set(k, val)
		}
		return d, nil
	case *types.OrderedDict:
		d := &Dict{Ordered: true}
		for el := x.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			k, err := c.conv(e.Key, depth+1)
			if err != nil {
				return nil, err
			}
			val, err := c.conv(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			d.Set(k, val)
		}
		if len(x.PyDict) > 0 {
			d.Attrs = &Dict{}
			names := make([]string, 0, len(x.PyDict))
			for k := range x.PyDict {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				val, err := c.conv(x.PyDict[k], depth+1)
				if err != nil {
					return nil, err
				}
				d.Attrs.Set(k, val)
			}
		}
		return d, nil
	case *pendingTensor:
		r := x.storage
		if !r.ok {
			return nil, formatErrorf("storage %q was never read", r.key)
		}
		t, err := gather(r.raw, r.dtype, r.numel, x.offset, x.size, x.stride, &c.l.budget)
		if err != nil {
			return nil, err
		}
		t.RequiresGrad = x.requiresGrad
		return t, nil
	case *storageRef:
		return &Object{Module: "torch", Name: string(x.dtype) + " storage", Args: []any{x.key}}, nil
	case *storageClass:
		return &Object{Module: "torch", Name: x.name, IsClass: true}, nil
	case *pyClass:
		return &Object{Module: x.module, Name: x.name, IsClass: true}, nil
	case *types.OrderedDictClass:
		return &Object{Module: "collections", Name: "OrderedDict", IsClass: true}, nil
	case *pyObject:
		o := &Object{Module: x.class.module, Name: x.class.name}
		args, err := c.convSlice(x.args, depth, func(s []any) any { return s })
		if err != nil {
			return nil, err
		}
		o.Args = args.([]any)
		if x.state != nil {
			if o.State, err = c.conv(x.state, depth+1); err != nil {
				return nil, err
			}
		}
		if nv, ok := decodeNumpy(o); ok {
			return nv, nil
		}
		return o, nil
	case *types.GenericObject:
		return &Object{Module: x.Class.Module, Name: x.Class.Name}, nil
	case *types.GenericClass:
		return &Object{Module: x.Module, Name: x.Name, IsClass: true}, nil
	}
	return nil, formatErrorf("unexpected decoded value of type %T", v)
}

func (c *converter) convSlice(in []any, depth int, wrap func([]any) any) (any, error) {
	out := make([]any, len(in))
	for i, it := range in {
		v, err := c.conv(it, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return wrap(out), nil
}

func (c *converter) convSet(items []any, depth int) (any, error) {
	s, err := c.convSlice(items, depth, func(s []any) any { return Set(s) })
	if err != nil {
		return nil, err
	}
	set := s.(Set)
	sort.SliceStable(set, func(i, j int) bool { return fmt.Sprint(set[i]) < fmt.Sprint(set[j]) })
	return set, nil
}

func keysOf(s types.Set) []any {
	out := make([]any, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	return out
}

func frozenKeysOf(s types.FrozenSet) []any {
	out := make([]any, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	return out
}
