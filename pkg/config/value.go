package config

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Value is a config value: one of *Dict, []Value (a Python list), Tuple,
// string, int64, float64, bool or nil (Python None).
type Value = any

// Tuple is a Python tuple. It is written as a JSON array, like mmengine's
// Config.to_dict() followed by json.dumps.
type Tuple []Value

// Dict is an insertion-ordered map from string keys to Values, the Go
// counterpart of mmengine's ConfigDict. The zero value is an empty Dict
// ready to use.
type Dict struct {
	keys []string
	m    map[string]Value
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{} }

// Keys returns the keys in insertion order. The slice is a copy.
func (d *Dict) Keys() []string {
	if d == nil {
		return nil
	}
	return append([]string(nil), d.keys...)
}

// Len returns the number of keys.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.keys)
}

// Get returns the value stored under k.
func (d *Dict) Get(k string) (Value, bool) {
	if d == nil || d.m == nil {
		return nil, false
	}
	v, ok := d.m[k]
	return v, ok
}

// Set stores v under k. A new key goes last; an existing key keeps its
// position, as with a Python dict.
func (d *Dict) Set(k string, v Value) {
	if d.m == nil {
		d.m = make(map[string]Value)
	}
	if _, ok := d.m[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[k] = v
}

// Delete removes k, if present.
func (d *Dict) Delete(k string) {
	if d == nil || d.m == nil {
		return
	}
	if _, ok := d.m[k]; !ok {
		return
	}
	delete(d.m, k)
	for i, kk := range d.keys {
		if kk == k {
			d.keys = append(d.keys[:i:i], d.keys[i+1:]...)
			break
		}
	}
}

// Copy returns a shallow copy of d (Python's dict.copy).
func (d *Dict) Copy() *Dict {
	c := &Dict{keys: append([]string(nil), d.keys...), m: make(map[string]Value, len(d.keys))}
	for k, v := range d.m {
		c.m[k] = v
	}
	return c
}

// DeepCopy returns a copy of v in which every *Dict, list and Tuple is new.
func DeepCopy(v Value) Value {
	switch x := v.(type) {
	case *Dict:
		if x == nil {
			return (*Dict)(nil)
		}
		c := &Dict{keys: append([]string(nil), x.keys...), m: make(map[string]Value, len(x.keys))}
		for k, vv := range x.m {
			c.m[k] = DeepCopy(vv)
		}
		return c
	case []Value:
		if x == nil {
			return []Value(nil)
		}
		c := make([]Value, len(x))
		for i, e := range x {
			c[i] = DeepCopy(e)
		}
		return c
	case Tuple:
		if x == nil {
			return Tuple(nil)
		}
		c := make(Tuple, len(x))
		for i, e := range x {
			c[i] = DeepCopy(e)
		}
		return c
	}
	return v
}

// pyFloat formats f like Python's repr(float), which json.dumps also uses:
// the shortest string that round-trips, in fixed notation when the decimal
// exponent is in [-4, 16) and with ".0" added to integral values,
// otherwise in exponent notation with at least two exponent digits.
// Non-finite values are written as Python writes them (inf, -inf, nan).
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Log10 can be off by one near powers of ten; read the exponent from
	// the shortest 'e' form instead.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if i := strings.LastIndexByte(e, 'e'); i >= 0 {
		if n, err := strconv.Atoi(e[i+1:]); err == nil {
			exp = n
		}
	}
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// jsonFloat is pyFloat with json.dumps's spelling of non-finite values.
func jsonFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	return pyFloat(f)
}

// writeJSONString writes s as json.dumps does with its defaults
// (ensure_ascii=True): non-ASCII characters become \uXXXX escapes, with
// surrogate pairs above U+FFFF.
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r < 0x10000):
				fmt.Fprintf(b, `\u%04x`, r)
			case r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// encodeJSON writes v as Python's json.dumps(v) with default arguments
// would: separators ", " and ": ", keys in insertion order.
func encodeJSON(b *bytes.Buffer, v Value) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		b.WriteString(jsonFloat(x))
	case string:
		writeJSONString(b, x)
	case *Dict:
		if x == nil {
			b.WriteString("null")
			return nil
		}
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			if err := encodeJSON(b, x.m[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []Value:
		return encodeJSONList(b, x)
	case Tuple:
		return encodeJSONList(b, x)
	default:
		return fmt.Errorf("config: cannot encode %T as JSON", v)
	}
	return nil
}

func encodeJSONList(b *bytes.Buffer, l []Value) error {
	b.WriteByte('[')
	for i, e := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := encodeJSON(b, e); err != nil {
			return err
		}
	}
	b.WriteByte(']')
	return nil
}

// MarshalJSON writes d as json.dumps would, keeping key order.
func (d *Dict) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := encodeJSON(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// typeName names v's type in Python terms, for error messages.
func typeName(v Value) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case *Dict:
		return "dict"
	case []Value:
		return "list"
	case Tuple:
		return "tuple"
	}
	return fmt.Sprintf("%T", v)
}
