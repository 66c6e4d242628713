package train

import (
	"strconv"
	"strings"
)

// cfgMap gives typed, path-addressed access to a decoded config (the JSON
// form of pkg/config's result: dicts are map[string]any, lists []any,
// numbers float64).
type cfgMap map[string]any

func (c cfgMap) get(path string) (any, bool) {
	var cur any = map[string]any(c)
	for _, seg := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func (c cfgMap) dict(path string) map[string]any {
	v, _ := c.get(path)
	d, _ := v.(map[string]any)
	return d
}

func (c cfgMap) num(path string, def float64) (float64, error) {
	v, ok := c.get(path)
	if !ok || v == nil {
		return def, nil
	}
	f, ok := toFloat(v)
	if !ok {
		return 0, configErrorf(path, "want a number, got %v", v)
	}
	return f, nil
}

func (c cfgMap) boolean(path string, def bool) bool {
	v, ok := c.get(path)
	if !ok || v == nil {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		return def
	}
	return b
}

func (c cfgMap) str(path, def string) string {
	v, ok := c.get(path)
	if !ok || v == nil {
		return def
	}
	s, ok := v.(string)
	if !ok {
		return def
	}
	return s
}

func dictList(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, x := range l {
		if d, ok := x.(map[string]any); ok {
			out = append(out, d)
		}
	}
	return out
}
