package checkpoint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/model"
)

// Meta returns the checkpoint's "meta" dict, or nil (bare state dicts, Apple
// files).
func (f *File) Meta() *Dict {
	root, _ := f.Root.(*Dict)
	return root.Dict("meta")
}

// Classes returns the class names stored in the checkpoint:
// meta.dataset_meta.classes (mmpretrain 1.x), else meta.CLASSES (mmcls 0.x),
// else nil. A list or tuple that is not all strings counts as absent.
func (f *File) Classes() []string {
	meta := f.Meta()
	if meta == nil {
		return nil
	}
	if c := strList(meta.Dict("dataset_meta").getOr("classes")); c != nil {
		return c
	}
	return strList(meta.getOr("CLASSES"))
}

func (d *Dict) getOr(key string) any {
	v, _ := d.Get(key)
	return v
}

func strList(v any) []string {
	var items []any
	switch x := v.(type) {
	case List:
		items = x
	case Tuple:
		items = x
	default:
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil
		}
		out[i] = s
	}
	return out
}

// StateDict returns the model weights: the "state_dict" entry when present
// (mmengine/mmpretrain checkpoints), otherwise the whole top-level dict when it
// is a dict of tensors (bare state dicts: mmcls 0.x reparameterized outputs,
// Apple's .pth.tar files). Like mmengine's load_checkpoint it strips a leading
// "module." (DistributedDataParallel) from every key. Apple ml-mobileone and
// timm key names are mapped to mmpretrain names (keymaps.go). The result keeps the
// file's key order and its _metadata.
func (f *File) StateDict() (*StateDict, error) {
	root, ok := f.Root.(*Dict)
	if !ok {
		return nil, &Error{Path: f.Path, Err: formatErrorf("top-level object is %s, not a dict: no state_dict found", typeName(f.Root))}
	}
	src := root
	what := "top-level dict"
	if v, ok := root.Get("state_dict"); ok {
		d, ok := v.(*Dict)
		if !ok {
			return nil, &Error{Path: f.Path, Err: formatErrorf("state_dict is %s, not a dict", typeName(v))}
		}
		src, what = d, "state_dict"
	}
	sd, err := toStateDict(src, what, nil)
	if err != nil {
		return nil, &Error{Path: f.Path, Err: err}
	}
	if format := DetectFormat(sd.Keys); format != FormatMMPretrain {
		if sd, err = mapKeys(sd, format); err != nil {
			return nil, &Error{Path: f.Path, Err: err}
		}
	}
	return sd, nil
}

// EMAStateDict returns the "ema_state_dict" entry of an mmengine training
// checkpoint (with EMAHook, it holds the raw, non-averaged weights under
// "module."-prefixed keys) with the prefix stripped and the "steps" counter
// left out. ok is false when the checkpoint has none or it is malformed.
func (f *File) EMAStateDict() (*StateDict, bool) {
	root, _ := f.Root.(*Dict)
	d := root.Dict("ema_state_dict")
	if d == nil {
		return nil, false
	}
	sd, err := toStateDict(d, "ema_state_dict", map[string]bool{"steps": true})
	if err != nil {
		return nil, false
	}
	return sd, true
}

func toStateDict(src *Dict, what string, skip map[string]bool) (*StateDict, error) {
	sd := NewStateDict()
	for _, it := range src.Items {
		k, ok := it.Key.(string)
		if !ok {
			return nil, formatErrorf("%s has a non-string key %v", what, it.Key)
		}
		if skip[k] {
			continue
		}
		t, ok := it.Value.(*Tensor)
		if !ok {
			if what == "top-level dict" {
				return nil, formatErrorf("no state_dict found: the top-level dict's %q is %s, not a tensor", k, typeName(it.Value))
			}
			return nil, formatErrorf("%s[%q] is %s, not a tensor", what, k, typeName(it.Value))
		}
		k = strings.TrimPrefix(k, "module.")
		if _, dup := sd.Tensors[k]; dup {
			return nil, formatErrorf("%s has key %q twice (with and without module.)", what, k)
		}
		sd.Add(k, t)
	}
	if src.Attrs != nil {
		sd.Metadata = src.Attrs.Dict("_metadata")
	}
	return sd, nil
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case *Dict:
		return "a dict"
	case List:
		return "a list"
	case Tuple:
		return "a tuple"
	case string:
		return "a str"
	case int64:
		return "an int"
	case float64:
		return "a float"
	case bool:
		return "a bool"
	case *Tensor:
		return "a tensor"
	case *Object:
		return x.String()
	}
	return fmt.Sprintf("a %T", v)
}

// Apply copies sd into the model entries strictly, like torch's
// load_state_dict(strict=True): every model key must be present with the same
// shape and no extra key may exist. On failure it returns a *LoadError listing
// all missing keys, unexpected keys and shape mismatches, and changes nothing.
//
// As in torch, a missing BatchNorm num_batches_tracked is not an error when the
// state dict's _metadata gives that module no version >= 2 (or there is no
// _metadata): the counter is then set to 0. Float tensors of any float dtype
// and integer tensors are converted to the model's float32 / int64.
func Apply(entries []model.Entry, sd *StateDict) error {
	le := &LoadError{}
	inModel := make(map[string]bool, len(entries))
	for _, e := range entries {
		inModel[e.Key] = true
		t, ok := sd.Tensors[e.Key]
		if !ok {
			if e.Kind == model.Counter && strings.HasSuffix(e.Key, ".num_batches_tracked") && metadataVersion(sd, e.Key) < 2 {
				continue
			}
			le.Missing = append(le.Missing, e.Key)
			continue
		}
		want := e.Shape()
		if !slices.Equal(want, t.Shape) {
			le.Mismatched = append(le.Mismatched, ShapeMismatch{Key: e.Key, Model: append([]int{}, want...), File: append([]int{}, t.Shape...)})
		}
	}
	for _, k := range sd.Keys {
		if !inModel[k] {
			le.Unexpected = append(le.Unexpected, k)
		}
	}
	if len(le.Missing)+len(le.Unexpected)+len(le.Mismatched) > 0 {
		return le
	}
	for _, e := range entries {
		t, ok := sd.Tensors[e.Key]
		if e.Kind == model.Counter {
			var v int64
			if ok {
				switch {
				case len(t.I64) == 1:
					v = t.I64[0]
				case len(t.F32) == 1:
					v = int64(t.F32[0])
				}
			}
			if e.Count != nil {
				*e.Count = v
			}
			continue
		}
		dst := e.Tensor.Data
		switch {
		case len(t.F32) == len(dst):
			copy(dst, t.F32)
		case len(t.I64) == len(dst):
			for i, v := range t.I64 {
				dst[i] = float32(v)
			}
		default:
			return fmt.Errorf("checkpoint: key %q: %w", e.Key, formatErrorf("tensor %v has no data of %d elements", t, len(dst)))
		}
	}
	return nil
}

// metadataVersion returns the _metadata version of the module owning key, or
// 0 when unknown.
func metadataVersion(sd *StateDict, key string) int64 {
	if sd.Metadata == nil {
		return 0
	}
	prefix := ""
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		prefix = key[:i]
	}
	m := sd.Metadata.Dict(prefix)
	if v, ok := m.Get("version"); ok {
		if n, ok := v.(int64); ok {
			return n
		}
	}
	return 0
}

// FromEntries builds a state dict from model entries (copying the data):
// params and buffers become float32 tensors, counters int64 zero-dim tensors.
// It also builds torch-like _metadata: every module prefix of the keys, in
// first-appearance order, with version 2 for BatchNorm modules (those owning
// a num_batches_tracked) and 1 otherwise.
func FromEntries(entries []model.Entry) *StateDict {
	sd := NewStateDict()
	meta := NewOrderedDict()
	bn := map[string]bool{}
	for _, e := range entries {
		if e.Kind == model.Counter {
			if i := strings.LastIndexByte(e.Key, '.'); i >= 0 {
				bn[e.Key[:i]] = true
			}
		}
	}
	for _, e := range entries {
		parts := strings.Split(e.Key, ".")
		for i := 0; i < len(parts); i++ {
			prefix := strings.Join(parts[:i], ".")
			if _, ok := meta.Get(prefix); !ok {
				ver := int64(1)
				if bn[prefix] {
					ver = 2
				}
				v := NewDict()
				v.Set("version", ver)
				meta.Set(prefix, v)
			}
		}
		if e.Kind == model.Counter {
			var c int64
			if e.Count != nil {
				c = *e.Count
			}
			sd.Add(e.Key, NewInt64([]int{}, []int64{c}))
			continue
		}
		sd.Add(e.Key, NewFloat32(e.Tensor.Shape, append([]float32{}, e.Tensor.Data...)))
	}
	sd.Metadata = meta
	return sd
}
