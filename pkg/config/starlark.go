package config

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	starlarkmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// maxDepth bounds the nesting of values converted between Go and Starlark,
// so a self-referencing list (a = []; a.append(a)) is an error, not a
// stack overflow.
const maxDepth = 200

// cfgDict is the Starlark face of an mmengine ConfigDict: a dict whose
// keys can also be read and written as attributes (cfg.model.backbone),
// and which stores a converted copy of every dict, list or tuple assigned
// into it (ConfigDict.__setattr__/__setitem__ run addict's _hook). Dict
// methods (keys, items, get, update, ...) win over keys of the same name,
// as in Python.
type cfgDict struct {
	d *starlark.Dict
}

var (
	_ starlark.IterableMapping = (*cfgDict)(nil)
	_ starlark.HasSetKey       = (*cfgDict)(nil)
	_ starlark.HasSetField     = (*cfgDict)(nil)
	_ starlark.Sequence        = (*cfgDict)(nil)
	_ starlark.Comparable      = (*cfgDict)(nil)
)

func newCfgDict() *cfgDict { return &cfgDict{d: new(starlark.Dict)} }

func (c *cfgDict) String() string        { return c.d.String() }
func (c *cfgDict) Type() string          { return "ConfigDict" }
func (c *cfgDict) Freeze()               { c.d.Freeze() }
func (c *cfgDict) Truth() starlark.Bool  { return c.d.Len() > 0 }
func (c *cfgDict) Hash() (uint32, error) { return 0, errors.New("unhashable type: ConfigDict") }
func (c *cfgDict) Len() int              { return c.d.Len() }
func (c *cfgDict) Iterate() starlark.Iterator {
	return c.d.Iterate()
}
func (c *cfgDict) Items() []starlark.Tuple { return c.d.Items() }

func (c *cfgDict) Get(k starlark.Value) (starlark.Value, bool, error) {
	v, found, err := c.d.Get(k)
	if err == nil && !found {
		return nil, false, fmt.Errorf("KeyError: %s", k)
	}
	return v, found, err
}

func (c *cfgDict) SetKey(k, v starlark.Value) error {
	h, err := hook(v, 0)
	if err != nil {
		return err
	}
	return c.d.SetKey(k, h)
}

func (c *cfgDict) Attr(name string) (starlark.Value, error) {
	if m, err := c.d.Attr(name); err == nil && m != nil {
		return m, nil
	}
	v, found, err := c.d.Get(starlark.String(name))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, starlark.NoSuchAttrError(fmt.Sprintf("'ConfigDict' object has no attribute '%s'", name))
	}
	return v, nil
}

func (c *cfgDict) AttrNames() []string {
	names := c.d.AttrNames()
	for _, k := range c.d.Keys() {
		if s, ok := k.(starlark.String); ok {
			names = append(names, string(s))
		}
	}
	return names
}

func (c *cfgDict) SetField(name string, v starlark.Value) error {
	if m, err := c.d.Attr(name); err == nil && m != nil {
		return fmt.Errorf("'ConfigDict' object attribute '%s' is read-only", name)
	}
	return c.SetKey(starlark.String(name), v)
}

func (c *cfgDict) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return starlark.CompareDepth(op, c.d, y.(*cfgDict).d, depth)
}

// hook is addict's Dict._hook as used by mmengine's ConfigDict: dicts
// become new ConfigDicts, lists and tuples become new lists and tuples of
// hooked elements, anything else is shared.
func hook(v starlark.Value, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, errors.New("value nested too deeply (a container that contains itself?)")
	}
	switch x := v.(type) {
	case *starlark.Dict:
		return hookDict(x, depth)
	case *cfgDict:
		return hookDict(x.d, depth)
	case *starlark.List:
		elems := make([]starlark.Value, x.Len())
		for i := range elems {
			e, err := hook(x.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = e
		}
		return starlark.NewList(elems), nil
	case starlark.Tuple:
		elems := make(starlark.Tuple, len(x))
		for i := range x {
			e, err := hook(x[i], depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = e
		}
		return elems, nil
	}
	return v, nil
}

func hookDict(d *starlark.Dict, depth int) (starlark.Value, error) {
	out := newCfgDict()
	for _, kv := range d.Items() {
		e, err := hook(kv[1], depth+1)
		if err != nil {
			return nil, err
		}
		if err := out.d.SetKey(kv[0], e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// deepcopy is Python's copy.deepcopy for config values. Immutable values
// are shared; a ConfigDict stays a ConfigDict.
func deepcopy(v starlark.Value, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, errors.New("deepcopy: value nested too deeply (a container that contains itself?)")
	}
	switch x := v.(type) {
	case *starlark.Dict:
		out := new(starlark.Dict)
		if err := copyItems(out, x, depth); err != nil {
			return nil, err
		}
		return out, nil
	case *cfgDict:
		out := newCfgDict()
		if err := copyItems(out.d, x.d, depth); err != nil {
			return nil, err
		}
		return out, nil
	case *starlark.List:
		elems := make([]starlark.Value, x.Len())
		for i := range elems {
			e, err := deepcopy(x.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = e
		}
		return starlark.NewList(elems), nil
	case starlark.Tuple:
		elems := make(starlark.Tuple, len(x))
		for i := range x {
			e, err := deepcopy(x[i], depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = e
		}
		return elems, nil
	}
	return v, nil
}

func copyItems(dst, src *starlark.Dict, depth int) error {
	for _, kv := range src.Items() {
		e, err := deepcopy(kv[1], depth+1)
		if err != nil {
			return err
		}
		if err := dst.SetKey(kv[0], e); err != nil {
			return err
		}
	}
	return nil
}

// shallowcopy is Python's copy.copy.
func shallowcopy(v starlark.Value) (starlark.Value, error) {
	switch x := v.(type) {
	case *starlark.Dict:
		out := new(starlark.Dict)
		for _, kv := range x.Items() {
			if err := out.SetKey(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *cfgDict:
		out := newCfgDict()
		for _, kv := range x.d.Items() {
			if err := out.d.SetKey(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case *starlark.List:
		elems := make([]starlark.Value, x.Len())
		for i := range elems {
			elems[i] = x.Index(i)
		}
		return starlark.NewList(elems), nil
	}
	return v, nil
}

// toStarlark converts a Go config value into Starlark. Dicts become
// ConfigDicts (the merged bases are a ConfigDict tree in mmengine).
func toStarlark(v Value) starlark.Value {
	switch x := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(x)
	case int64:
		return starlark.MakeInt64(x)
	case int:
		return starlark.MakeInt(x)
	case float64:
		return starlark.Float(x)
	case string:
		return starlark.String(x)
	case *Dict:
		out := newCfgDict()
		if x != nil {
			for _, k := range x.keys {
				_ = out.d.SetKey(starlark.String(k), toStarlark(x.m[k]))
			}
		}
		return out
	case []Value:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			elems[i] = toStarlark(e)
		}
		return starlark.NewList(elems)
	case Tuple:
		elems := make(starlark.Tuple, len(x))
		for i, e := range x {
			elems[i] = toStarlark(e)
		}
		return elems
	}
	panic(fmt.Sprintf("config: toStarlark: unexpected %T", v))
}

// fromStarlark converts a Starlark value into a Go config value.
func fromStarlark(v starlark.Value, depth int) (Value, error) {
	if depth > maxDepth {
		return nil, errors.New("value nested too deeply (a container that contains itself?)")
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("integer %s does not fit in 64 bits", x)
		}
		return i, nil
	case starlark.Float:
		return float64(x), nil
	case starlark.String:
		return string(x), nil
	case *starlark.Dict:
		return dictFromStarlark(x, depth)
	case *cfgDict:
		return dictFromStarlark(x.d, depth)
	case *starlark.List:
		out := make([]Value, x.Len())
		for i := range out {
			e, err := fromStarlark(x.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case starlark.Tuple:
		out := make(Tuple, len(x))
		for i := range x {
			e, err := fromStarlark(x[i], depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported config value of type %s", v.Type())
}

func dictFromStarlark(d *starlark.Dict, depth int) (*Dict, error) {
	out := NewDict()
	for _, kv := range d.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("unsupported dict key %s of type %s (config keys must be strings)", kv[0], kv[0].Type())
		}
		e, err := fromStarlark(kv[1], depth+1)
		if err != nil {
			return nil, err
		}
		out.Set(string(k), e)
	}
	return out, nil
}

// isDroppable reports whether a top-level value is dropped from the
// config, as mmengine drops modules and functions.
func isDroppable(v starlark.Value) bool {
	switch v.(type) {
	case *starlark.Function, *starlark.Builtin, *starlarkstruct.Module:
		return true
	}
	return false
}

// pyRound is Python's round(): round-half-even; with one argument it
// returns an int, with ndigits a float rounded at that decimal place
// (correctly rounded from the exact binary value, as CPython does).
func pyRound(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, nd starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "number", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	if nd == starlark.None {
		switch v := x.(type) {
		case starlark.Int:
			return v, nil
		case starlark.Float:
			f := float64(v)
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("round: cannot convert float %s to integer", v)
			}
			r := math.RoundToEven(f)
			bf := new(big.Float).SetFloat64(r)
			bi, _ := bf.Int(nil)
			return starlark.MakeBigInt(bi), nil
		}
		return nil, fmt.Errorf("round: got %s, want int or float", x.Type())
	}
	ndi, ok := nd.(starlark.Int)
	if !ok {
		return nil, fmt.Errorf("round: ndigits must be an int, got %s", nd.Type())
	}
	n, ok := ndi.Int64()
	if !ok || n > 400 || n < -400 {
		return nil, fmt.Errorf("round: ndigits %s out of range", ndi)
	}
	switch v := x.(type) {
	case starlark.Int:
		if n >= 0 {
			return v, nil
		}
		r := roundFloat(float64(v.Float()), int(n))
		bi, _ := new(big.Float).SetFloat64(r).Int(nil)
		return starlark.MakeBigInt(bi), nil
	case starlark.Float:
		return starlark.Float(roundFloat(float64(v), int(n))), nil
	}
	return nil, fmt.Errorf("round: got %s, want int or float", x.Type())
}

func roundFloat(f float64, n int) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) || f == 0 {
		return f
	}
	if n >= 0 {
		r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'f', n, 64), 64)
		if err != nil {
			return f
		}
		return r
	}
	p := math.Pow(10, float64(-n))
	return math.RoundToEven(f/p) * p
}

// pySum is Python's sum(iterable, start=0).
func pySum(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var it starlark.Iterable
	var acc starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "iterable", &it, "start?", &acc); err != nil {
		return nil, err
	}
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		var err error
		acc, err = starlark.Binary(syntax.PLUS, acc, x)
		if err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// modules are the Python modules an `import` statement may name.
func modules() map[string]starlark.Value {
	return map[string]starlark.Value{
		"copy": &starlarkstruct.Module{Name: "copy", Members: starlark.StringDict{
			"deepcopy": starlark.NewBuiltin("deepcopy", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var x starlark.Value
				if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
					return nil, err
				}
				return deepcopy(x, 0)
			}),
			"copy": starlark.NewBuiltin("copy", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var x starlark.Value
				if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &x); err != nil {
					return nil, err
				}
				return shallowcopy(x)
			}),
		}},
		"math": starlarkmath.Module,
	}
}
