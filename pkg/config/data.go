package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// isDataFile reports a config written as data (mmengine's Config.fromfile
// reads .json with json.load and .yaml/.yml with yaml.load) rather than
// Python.
func isDataFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// isConfigFile reports an extension Config.fromfile accepts.
func isConfigFile(p string) bool { return path.Ext(p) == ".py" || isDataFile(p) }

// parseData decodes a .json or .yaml config into a Dict, keeping the order
// of keys. Its top level must be a mapping.
func parseData(display string, raw []byte) (*Dict, error) {
	var v Value
	var err error
	if strings.ToLower(path.Ext(display)) == ".json" {
		v, err = parseJSON(raw)
	} else {
		v, err = parseYAML(raw)
	}
	if err != nil {
		return nil, errorf(display, 0, "%v", err)
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, errorf(display, 0, "the file must hold a mapping at the top level, got %s", typeName(v))
	}
	return d, nil
}

func parseJSON(raw []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := jsonValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder, depth int) (Value, error) {
	if depth > maxDataDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDataDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %w", err)
				}
				k, _ := kt.(string)
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				d.Set(k, v)
			}
			_, err := dec.Token()
			return d, err
		case '[':
			l := []Value{}
			for dec.More() {
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
		return nil, fmt.Errorf("invalid JSON: unexpected %v", t)
	case json.Number:
		return number(string(t))
	default: // string, bool, nil
		return t, nil
	}
}

// number is a JSON or YAML number as Python reads it: an int when it has
// no fraction or exponent, else a float.
func number(s string) (Value, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("bad number %q", s)
	}
	if math.IsInf(f, 0) && !strings.ContainsAny(s, "eE") {
		return nil, fmt.Errorf("integer %s out of range", s)
	}
	return f, nil
}

const maxDataDepth = 100

func parseYAML(raw []byte) (Value, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if n.Kind == 0 { // empty document
		return NewDict(), nil
	}
	return yamlValue(&n, 0)
}

func yamlValue(n *yaml.Node, depth int) (Value, error) {
	if depth > maxDataDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDataDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, errors.New("invalid YAML: expected one document")
		}
		return yamlValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.MappingNode:
		d := NewDict()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
			}
			if k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: YAML merge keys (<<) are not supported", k.Line)
			}
			val, err := yamlValue(v, depth+1)
			if err != nil {
				return nil, err
			}
			d.Set(k.Value, val)
		}
		return d, nil
	case yaml.SequenceNode:
		l := []Value{}
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return b, nil
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return i, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return f, nil
		case "!!str":
			return n.Value, nil
		}
		return nil, fmt.Errorf("line %d: YAML tag %s is not supported", n.Line, n.ShortTag())
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// dataBases takes the _base_ entry out of a data config: a file name or a
// list of them, as mmengine reads it.
func dataBases(display string, d *Dict) ([]string, error) {
	v, ok := d.Get(baseKey)
	if !ok {
		return nil, nil
	}
	d.Delete(baseKey)
	switch b := v.(type) {
	case string:
		return []string{b}, nil
	case []Value:
		out := make([]string, len(b))
		for i, e := range b {
			s, ok := e.(string)
			if !ok {
				return nil, errorf(display, 0, "_base_ must be a file name or a list of file names, got %s", typeName(e))
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, errorf(display, 0, "_base_ must be a file name or a list of file names, got %s", typeName(v))
}
