package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// JSON returns the config as Python's json.dumps(cfg.to_dict()) would:
// keys in order, tuples as arrays, floats as Python writes them
// (0.7000000000000001, 1e-06, 0.0), non-ASCII escaped.
func (c *Config) JSON() ([]byte, error) {
	var b bytes.Buffer
	if err := encodeJSON(&b, c.Dict); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// index returns the list index named by seg in a list of length n.
func index(seg string, n int) (int, bool) {
	if !isDigits(seg) {
		return 0, false
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i >= n {
		return 0, false
	}
	return i, true
}

// getPath looks up a dotted path; numeric segments index lists and tuples.
// The empty path is v itself.
func getPath(v Value, path string) (Value, bool) {
	if path == "" {
		return v, true
	}
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case *Dict:
			var ok bool
			if v, ok = x.Get(seg); !ok {
				return nil, false
			}
		case []Value:
			i, ok := index(seg, len(x))
			if !ok {
				return nil, false
			}
			v = x[i]
		case Tuple:
			i, ok := index(seg, len(x))
			if !ok {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Get returns the value at a dotted path ("model.backbone.arch",
// "train_dataloader.dataset.pipeline.1.scale"). The empty path is the
// whole config.
func (c *Config) Get(path string) (Value, bool) {
	return getPath(c.Dict, path)
}

// Set stores v at a dotted path, creating missing dicts on the way.
// Numeric segments index existing lists and tuples.
func (c *Config) Set(path string, v Value) error {
	if path == "" {
		return &Error{Msg: "Set: empty path"}
	}
	if err := checkValue(v, 0); err != nil {
		return &Error{Msg: fmt.Sprintf("Set %s: %v", path, err)}
	}
	if c.Dict == nil {
		c.Dict = NewDict()
	}
	segs := strings.Split(path, ".")
	var cur Value = c.Dict
	for i, seg := range segs {
		last := i == len(segs)-1
		switch x := cur.(type) {
		case *Dict:
			if last {
				x.Set(seg, v)
				return nil
			}
			next, ok := x.Get(seg)
			if !ok {
				next = NewDict()
				x.Set(seg, next)
			}
			cur = next
		case []Value:
			j, ok := index(seg, len(x))
			if !ok {
				return &Error{Msg: fmt.Sprintf("Set %s: %q is not an index of a list of length %d", path, seg, len(x))}
			}
			if last {
				x[j] = v
				return nil
			}
			cur = x[j]
		case Tuple:
			j, ok := index(seg, len(x))
			if !ok {
				return &Error{Msg: fmt.Sprintf("Set %s: %q is not an index of a tuple of length %d", path, seg, len(x))}
			}
			if last {
				x[j] = v
				return nil
			}
			cur = x[j]
		default:
			return &Error{Msg: fmt.Sprintf("Set %s: %s is a %s, not a dict or list", path, strings.Join(segs[:i], "."), typeName(cur))}
		}
	}
	return nil
}

// checkValue rejects Go values that are not config Values.
func checkValue(v Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested too deeply")
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return nil
	case *Dict:
		if x == nil {
			return fmt.Errorf("nil *Dict")
		}
		for _, k := range x.keys {
			if err := checkValue(x.m[k], depth+1); err != nil {
				return err
			}
		}
		return nil
	case []Value:
		for _, e := range x {
			if err := checkValue(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case Tuple:
		for _, e := range x {
			if err := checkValue(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unsupported value type %T", v)
}

// UnknownFieldsAllower is implemented by Decode targets that accept keys
// they have no field for. By default Decode rejects unknown keys.
type UnknownFieldsAllower interface {
	AllowUnknownFields() bool
}

// Decode decodes the subtree at path (the whole config for "") into dst
// through encoding/json, so dst's `json` tags name the keys. A key with no
// matching field is an error unless dst implements UnknownFieldsAllower
// and returns true.
func (c *Config) Decode(path string, dst any) error {
	v, ok := c.Get(path)
	if !ok {
		return &Error{File: c.Filename, Msg: fmt.Sprintf("no key %q", path)}
	}
	var b bytes.Buffer
	if err := encodeJSON(&b, v); err != nil {
		return &Error{File: c.Filename, Msg: fmt.Sprintf("%s: %v", path, err), Err: err}
	}
	dec := json.NewDecoder(&b)
	if a, ok := dst.(UnknownFieldsAllower); !ok || !a.AllowUnknownFields() {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// Say which config key holds what, not which Go field.
			key := te.Field
			if path != "" {
				key = path + "." + key
			}
			return &Error{File: c.Filename, Msg: fmt.Sprintf("%s: want %s, got %s", strings.TrimSuffix(key, "."), goTypeName(te.Type.Kind().String()), te.Value), Err: err}
		}
		return &Error{File: c.Filename, Msg: fmt.Sprintf("decoding %s: %v", pathName(path), err), Err: err}
	}
	return nil
}

// goTypeName names a Go kind the way a config author thinks of it.
func goTypeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "True or False"
	case kind == "string":
		return "a string"
	case kind == "slice", kind == "array":
		return "a list"
	case kind == "map", kind == "struct":
		return "a dict"
	}
	return kind
}

func pathName(p string) string {
	if p == "" {
		return "config"
	}
	return p
}

const optionsFile = "--cfg-options"

// MergeOptions applies --cfg-options items ("key=value") as mmengine's
// DictAction and Config.merge_from_dict(allow_list_keys=True) do: values
// are parsed as int, float, true/false, None, or left as strings; "a,b"
// and "[a,b]" are lists, "(a,b)" a tuple, nesting allowed; quotes are
// stripped and spaces removed. Dotted keys build nested dicts that merge
// into the config; numeric segments index lists. A later item with the
// same key replaces an earlier one.
func (c *Config) MergeOptions(opts []string) error {
	options := NewDict()
	for _, kv := range opts {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return &Error{File: optionsFile, Msg: fmt.Sprintf("bad item %q: want KEY=VALUE", kv)}
		}
		if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			return &Error{File: optionsFile, Msg: fmt.Sprintf("bad item %q: the key is empty or has an empty segment", kv)}
		}
		v, err := ParseOptionValue(val)
		if err != nil {
			return &Error{File: optionsFile, Msg: fmt.Sprintf("bad item %q: %v", kv, err)}
		}
		options.Set(k, v)
	}
	tree := NewDict()
	for _, full := range options.keys {
		d := tree
		segs := strings.Split(full, ".")
		for _, seg := range segs[:len(segs)-1] {
			next, ok := d.Get(seg)
			if !ok {
				next = NewDict()
				d.Set(seg, next)
			}
			nd, ok := next.(*Dict)
			if !ok {
				return &Error{File: optionsFile, Msg: fmt.Sprintf("key %q: %q is already set to a %s", full, seg, typeName(next))}
			}
			d = nd
		}
		d.Set(segs[len(segs)-1], options.m[full])
	}
	if c.Dict == nil {
		c.Dict = NewDict()
	}
	merged, err := mergeInto(tree, c.Dict, true)
	if err != nil {
		return &Error{File: optionsFile, Msg: err.Error(), Err: err}
	}
	c.Dict = merged.(*Dict)
	return nil
}

var (
	pyIntRE   = regexp.MustCompile(`^[+-]?[0-9](_?[0-9])*$`)
	pyFloatRE = regexp.MustCompile(`^[+-]?(([0-9](_?[0-9])*)?\.[0-9](_?[0-9])*|[0-9](_?[0-9])*\.?)([eE][+-]?[0-9](_?[0-9])*)?$`)
	pyInfNaN  = regexp.MustCompile(`(?i)^[+-]?(inf|infinity|nan)$`)
)

// parseScalar is DictAction._parse_int_float_bool: int(), then float(),
// then true/false in any case, then the exact string None, else the
// string itself.
func parseScalar(s string) (Value, error) {
	if pyIntRE.MatchString(s) {
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %s out of range", s)
		}
		return i, nil
	}
	if pyFloatRE.MatchString(s) || pyInfNaN.MatchString(s) {
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return nil, err
			}
		}
		return f, nil
	}
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if s == "None" {
		return nil, nil
	}
	return s, nil
}

// ParseOptionValue parses one --cfg-options value as mmengine's
// DictAction._parse_iterable does.
func ParseOptionValue(val string) (Value, error) {
	return parseIterable(val, 0)
}

func parseIterable(val string, depth int) (Value, error) {
	if depth > 100 {
		return nil, fmt.Errorf("value nested too deeply")
	}
	val = strings.Trim(val, `'"`)
	val = strings.ReplaceAll(val, " ", "")
	isTuple := false
	switch {
	case strings.HasPrefix(val, "(") && strings.HasSuffix(val, ")") && len(val) >= 2:
		isTuple = true
		val = val[1 : len(val)-1]
	case strings.HasPrefix(val, "[") && strings.HasSuffix(val, "]") && len(val) >= 2:
		val = val[1 : len(val)-1]
	case !strings.Contains(val, ","):
		return parseScalar(val)
	}
	values := []Value{}
	for len(val) > 0 {
		i, err := nextComma(val)
		if err != nil {
			return nil, err
		}
		e, err := parseIterable(val[:i], depth+1)
		if err != nil {
			return nil, err
		}
		values = append(values, e)
		if i >= len(val) {
			break
		}
		val = val[i+1:]
	}
	if isTuple {
		return Tuple(values), nil
	}
	return values, nil
}

// nextComma returns the index of the first comma outside brackets, or
// len(s).
func nextComma(s string) (int, error) {
	if strings.Count(s, "(") != strings.Count(s, ")") || strings.Count(s, "[") != strings.Count(s, "]") {
		return 0, fmt.Errorf("imbalanced brackets in %q", s)
	}
	paren, brack := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			paren++
		case ')':
			paren--
		case '[':
			brack++
		case ']':
			brack--
		case ',':
			if paren == 0 && brack == 0 {
				return i, nil
			}
		}
	}
	return len(s), nil
}

// LoadWithOptions is Load followed by MergeOptions: what a command does
// with its CONFIG argument and --cfg-options.
func LoadWithOptions(nameOrPath string, opts []string) (*Config, error) {
	c, err := Load(nameOrPath)
	if err != nil {
		return nil, err
	}
	if err := c.MergeOptions(opts); err != nil {
		return nil, err
	}
	return c, nil
}
