package setup

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// PreprocessorCfg is the config's data_preprocessor (ClsDataPreprocessor).
type PreprocessorCfg struct {
	Type           string          `json:"type"`
	NumClasses     *int            `json:"num_classes"`
	Mean           []float64       `json:"mean"`
	Std            []float64       `json:"std"`
	ToRGB          *bool           `json:"to_rgb"`
	PadSizeDivisor *int            `json:"pad_size_divisor"`
	PadValue       json.RawMessage `json:"pad_value"`
	ToOneHot       *bool           `json:"to_onehot"`
	BatchAugments  json.RawMessage `json:"batch_augments"`
}

// Normalizer returns the data preprocessor of cfg: model.data_preprocessor
// when set, else the top-level data_preprocessor (which the Runner injects
// into the model), else mmpretrain's default (no normalization).
func Normalizer(cfg *config.Config) (imagenet.Normalizer, error) {
	path := "model.data_preprocessor"
	if v, ok := cfg.Get(path); !ok || v == nil {
		path = "data_preprocessor"
	}
	var pc PreprocessorCfg
	if v, ok := cfg.Get(path); ok && v != nil {
		if err := cfg.Decode(path, &pc); err != nil {
			return imagenet.Normalizer{}, err
		}
	}
	if pc.Type != "" && pc.Type != "ClsDataPreprocessor" {
		return imagenet.Normalizer{}, fmt.Errorf("%s: %s type %q is not supported (only ClsDataPreprocessor)", cfg.Filename, path, pc.Type)
	}
	if pc.PadSizeDivisor != nil && *pc.PadSizeDivisor != 1 {
		return imagenet.Normalizer{}, fmt.Errorf("%s: %s.pad_size_divisor=%d is not supported", cfg.Filename, path, *pc.PadSizeDivisor)
	}
	mean, std := pc.Mean, pc.Std
	if mean == nil {
		mean = []float64{0, 0, 0}
	}
	if std == nil {
		std = []float64{1, 1, 1}
	}
	toRGB := pc.ToRGB != nil && *pc.ToRGB
	n, err := imagenet.NewNormalizer(mean, std, toRGB)
	if err != nil {
		return n, fmt.Errorf("%s: %s: %w", cfg.Filename, path, err)
	}
	return n, nil
}

// Pipeline builds the transform list at path (for example
// "test_dataloader.dataset.pipeline") with reg (nil: the default registry).
func Pipeline(cfg *config.Config, path string, reg imagenet.Registry) (*imagenet.Pipeline, error) {
	var steps []map[string]any
	if err := cfg.Decode(path, &steps); err != nil {
		return nil, err
	}
	if reg == nil {
		reg = imagenet.DefaultRegistry()
	}
	p, err := reg.NewPipeline(steps)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", cfg.Filename, path, err)
	}
	return p, nil
}

// DatasetCfg is a dataloader's `dataset` dict (mmpretrain ImageNet or
// CustomDataset, BaseDataset's arguments). Keys without effect on which
// samples are read (lazy_init, serialize_data, test_mode, max_refetch)
// are accepted; indices, filter_cfg and extensions, which would change the
// samples, are not supported; any other key is an error.
type DatasetCfg struct {
	Type       string                 `json:"type"`
	DataRoot   string                 `json:"data_root"`
	Split      string                 `json:"split"`
	AnnFile    string                 `json:"ann_file"`
	DataPrefix any                    `json:"data_prefix"`
	WithLabel  *bool                  `json:"with_label"`
	Classes    any                    `json:"classes"`
	Metainfo   *struct{ Classes any } `json:"metainfo"`
	Pipeline   []map[string]any       `json:"pipeline"`

	LazyInit      *bool           `json:"lazy_init"`
	SerializeData *bool           `json:"serialize_data"`
	TestMode      *bool           `json:"test_mode"`
	MaxRefetch    *int            `json:"max_refetch"`
	BackendArgs   json.RawMessage `json:"backend_args"`
	Indices       json.RawMessage `json:"indices"`
	FilterCfg     json.RawMessage `json:"filter_cfg"`
	Extensions    json.RawMessage `json:"extensions"`
}

func setRaw(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }

// Dataset lists the samples of the dataset dict at path (for example
// "test_dataloader.dataset"). dataRoot, when not empty, replaces data_root
// (the --data-root flag). Relative data roots are taken from the working
// directory, as in mmpretrain.
func Dataset(cfg *config.Config, path, dataRoot string) (*imagenet.Dataset, error) {
	var dc DatasetCfg
	if err := cfg.Decode(path, &dc); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		name string
		raw  json.RawMessage
	}{{"indices", dc.Indices}, {"filter_cfg", dc.FilterCfg}, {"extensions", dc.Extensions}, {"backend_args", dc.BackendArgs}} {
		if setRaw(k.raw) {
			return nil, &UnsupportedError{File: cfg.Filename, Key: path + "." + k.name, What: "set (every image of the dataset is read, from local files)"}
		}
	}
	if dataRoot != "" {
		dc.DataRoot = dataRoot
	}
	ic := imagenet.DatasetConfig{Type: dc.Type, DataRoot: dc.DataRoot, Split: dc.Split, AnnFile: dc.AnnFile, WithLabel: dc.WithLabel}
	switch p := dc.DataPrefix.(type) {
	case nil:
	case string:
		ic.DataPrefix = p
	case map[string]any:
		s, _ := p["img_path"].(string)
		ic.DataPrefix = s
	default:
		return nil, fmt.Errorf("%s: %s.data_prefix must be a string or dict(img_path=...), got %v", cfg.Filename, path, dc.DataPrefix)
	}
	classes := dc.Classes
	if dc.Metainfo != nil && dc.Metainfo.Classes != nil {
		classes = dc.Metainfo.Classes
	}
	switch c := classes.(type) {
	case nil:
	case string:
		names, err := imagenet.ReadClassNames(joinRoot(dc.DataRoot, c))
		if err != nil {
			return nil, err
		}
		ic.Classes = names
	case []any:
		for _, e := range c {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s: %s classes must be strings, got %v", cfg.Filename, path, e)
			}
			ic.Classes = append(ic.Classes, s)
		}
	default:
		return nil, fmt.Errorf("%s: %s classes must be a list or a file name, got %v", cfg.Filename, path, classes)
	}
	ds, err := imagenet.NewDataset(ic)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ds, nil
}

func joinRoot(root, p string) string {
	if root == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}
