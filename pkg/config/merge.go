package config

import (
	"fmt"
	"strconv"
)

// mergeError is a merge conflict; the caller adds the file.
type mergeError struct{ msg string }

func (e *mergeError) Error() string { return e.msg }

// truthy is Python's truth value of a config value.
func truthy(v Value) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case *Dict:
		return x.Len() > 0
	case []Value:
		return len(x) > 0
	case Tuple:
		return len(x) > 0
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// mergeInto is mmengine's Config._merge_a_into_b: it returns a copy of b
// with a merged in. Dict values merge recursively unless the child dict
// has a true `_delete_`; anything else replaces. With allowListKeys,
// all-digit keys index into lists. Like mmengine, `_delete_` is only
// removed from a child dict whose key exists in b.
func mergeInto(a *Dict, b Value, allowListKeys bool) (Value, error) {
	switch bb := b.(type) {
	case []Value:
		if !allowListKeys {
			return nil, &mergeError{fmt.Sprintf("cannot merge a dict into a list %s", short(b))}
		}
		out := append([]Value(nil), bb...)
		for _, k := range a.keys {
			v := a.m[k]
			if !isDigits(k) {
				return nil, &mergeError{fmt.Sprintf("cannot set key %q of a list (use a list index)", k)}
			}
			idx, err := strconv.Atoi(k)
			if err != nil || idx >= len(out) {
				return nil, &mergeError{fmt.Sprintf("Index %s exceeds the length of list %s", k, short(b))}
			}
			if vd, ok := v.(*Dict); ok {
				m, err := mergeChild(k, vd, out[idx], true, allowListKeys)
				if err != nil {
					return nil, err
				}
				out[idx] = m
			} else {
				out[idx] = v
			}
		}
		return out, nil
	case *Dict:
		out := bb.Copy()
		for _, k := range a.keys {
			v := a.m[k]
			vd, ok := v.(*Dict)
			if !ok {
				out.Set(k, v)
				continue
			}
			bv, in := out.Get(k)
			if !in {
				out.Set(k, vd)
				continue
			}
			m, err := mergeChild(k, vd, bv, false, allowListKeys)
			if err != nil {
				return nil, err
			}
			out.Set(k, m)
		}
		return out, nil
	}
	return nil, &mergeError{fmt.Sprintf("cannot merge a dict into %s", typeName(b))}
}

// mergeChild merges the child dict v into the base value bv that it
// overrides (k in b).
func mergeChild(k string, v *Dict, bv Value, fromList, allowListKeys bool) (Value, error) {
	if fromList {
		// mmengine recurses directly for list items.
		return mergeInto(v, bv, allowListKeys)
	}
	v = v.Copy()
	del, _ := v.Get(deleteKey)
	v.Delete(deleteKey)
	if truthy(del) {
		return v, nil
	}
	switch bv.(type) {
	case *Dict:
	case []Value:
		if !allowListKeys {
			return nil, typeConflict(k, v, bv)
		}
	default:
		return nil, typeConflict(k, v, bv)
	}
	return mergeInto(v, bv, allowListKeys)
}

func typeConflict(k string, v *Dict, bv Value) error {
	return &mergeError{fmt.Sprintf("%s=%s in child config cannot inherit from base because %s is a dict in the child config but is of type %s in base config. You may set `_delete_=True` to ignore the base config.", k, short(v), k, typeName(bv))}
}

// short renders v as Python text, cut to a readable length.
func short(v Value) string {
	s := repr(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
