package imagenet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mobileone-go/mobileone/internal/readfile"
)

// ImageExtensions are the file suffixes mmpretrain's ImageNet and
// CustomDataset accept in folder mode (matched case-insensitively). Note:
// no .tiff and no .webp.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif"}

// MaxListBytes bounds an annotation or class-list file (ImageNet's
// meta/train.txt is 40 MB).
const MaxListBytes = 1 << 30

// ImageNetNumClasses is len(IMAGENET_CATEGORIES), the class count the
// ImageNet dataset type asserts in folder mode.
const ImageNetNumClasses = 1000

// DatasetConfig mirrors the config's dataset dict (mmpretrain ImageNet and
// CustomDataset).
type DatasetConfig struct {
	Type       string // "ImageNet" or "CustomDataset"
	DataRoot   string // data_root
	Split      string // ImageNet only: "", "train", "val" or "test"
	AnnFile    string // ann_file; relative paths are joined onto DataRoot
	DataPrefix string // data_prefix (a string, or the dict's "img_path"); relative paths are joined onto DataRoot
	// WithLabel is with_label; nil means the upstream default, true
	// (false for ImageNet split "test").
	WithLabel *bool
	// Classes is metainfo.classes when given; it fixes the class count
	// (labels are checked against it, and folder mode must find as many
	// folders).
	Classes []string
}

// Sample is one dataset entry. Label is -1 when the dataset has no labels.
type Sample struct {
	Path  string
	Label int
	Index int // position in Dataset.Samples
}

// Dataset is the listed samples of an ImageNet or CustomDataset.
type Dataset struct {
	Samples []Sample
	// Classes holds the class folder names (sorted) in folder mode, or
	// the config's Classes when given; nil otherwise.
	Classes []string
	// NumClasses is the known class count (1000 for ImageNet, the folder
	// count in folder mode, len(Classes) when given), or 0 when unknown.
	NumClasses int
	Root       string // the image folder the sample paths start with (data_root joined with data_prefix)
	AnnFile    string // the annotation file used, "" in folder mode
	// EmptyClasses lists class folders without any image (upstream warns).
	EmptyClasses []string
}

// DatasetError reports a bad dataset: the file (and line, when > 0).
type DatasetError struct {
	Path string
	Line int
	Err  error
}

func (e *DatasetError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("imagenet: %s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("imagenet: %s: %v", e.Path, e.Err)
}

func (e *DatasetError) Unwrap() error { return e.Err }

func joinRoot(root, p string) string {
	if p == "" {
		return root
	}
	if filepath.IsAbs(p) || root == "" {
		return p
	}
	return filepath.Join(root, p)
}

// NewDataset lists a dataset the way mmpretrain does (spec §4).
//
// ImageNet: split must be "", "train", "val" or "test"; with a split,
// data_prefix defaults to the split name and meta/<split>.txt under
// data_root becomes ann_file when it exists and ann_file is empty. Split
// "test" has no labels. In folder mode there must be exactly 1000 class
// folders.
//
// Annotation-file mode: each line is "<filename> <label>", split on the
// last space; paths are data_prefix/<filename>. Trailing blank lines are
// ignored; other blank or malformed lines are errors naming file and line.
// Folder mode: the sorted sub-folders of data_prefix are the classes; files
// are found recursively, sorted, and kept by ImageExtensions.
func NewDataset(cfg DatasetConfig) (*Dataset, error) {
	withLabel := true
	if cfg.WithLabel != nil {
		withLabel = *cfg.WithLabel
	}
	numClasses := len(cfg.Classes)
	annFile, prefix := cfg.AnnFile, cfg.DataPrefix
	missingAnn := "" // meta/<split>.txt looked for and not found
	switch cfg.Type {
	case "ImageNet":
		if numClasses == 0 {
			numClasses = ImageNetNumClasses
		}
		switch cfg.Split {
		case "":
		case "train", "val", "test":
			if cfg.Split == "test" {
				withLabel = false
			}
			if prefix == "" {
				prefix = cfg.Split
			}
			if annFile == "" {
				p := filepath.Join("meta", cfg.Split+".txt")
				if st, err := os.Stat(joinRoot(cfg.DataRoot, p)); err == nil && !st.IsDir() {
					annFile = p
				} else {
					missingAnn = joinRoot(cfg.DataRoot, p)
				}
			}
		default:
			return nil, FormatError(fmt.Sprintf("ImageNet split %q (want train, val or test)", cfg.Split))
		}
	case "CustomDataset":
		if cfg.Split != "" {
			return nil, FormatError("CustomDataset has no split parameter")
		}
	default:
		return nil, UnsupportedError(fmt.Sprintf("dataset type %q", cfg.Type))
	}
	ds := &Dataset{Root: joinRoot(cfg.DataRoot, prefix), NumClasses: numClasses}
	if len(cfg.Classes) > 0 {
		ds.Classes = cfg.Classes
	}
	var err error
	if annFile != "" {
		ds.AnnFile = joinRoot(cfg.DataRoot, annFile)
		err = ds.readAnnotations(withLabel)
	} else {
		err = ds.scanFolders(withLabel, cfg.Type == "ImageNet" || len(cfg.Classes) > 0)
		var de *DatasetError
		if missingAnn != "" && errors.As(err, &de) {
			// The folder layout was tried because the split's annotation
			// file is missing: say so, it is the likelier fix.
			de.Err = FormatError(fmt.Sprintf("%s; the annotation file %s does not exist (the split %q is read from it when it exists: lines \"<file> <label>\"; otherwise from one sub-folder per class)",
				strings.TrimPrefix(de.Err.Error(), "imagenet: invalid format: "), missingAnn, cfg.Split))
		}
	}
	if err != nil {
		return nil, err
	}
	for i := range ds.Samples {
		ds.Samples[i].Index = i
	}
	return ds, nil
}

func (ds *Dataset) readAnnotations(withLabel bool) error {
	data, err := readfile.ReadText(ds.AnnFile, MaxListBytes)
	if err != nil {
		return fmt.Errorf("imagenet: annotation file: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		bad := func(format string, args ...any) error {
			return &DatasetError{Path: ds.AnnFile, Line: i + 1, Err: FormatError(fmt.Sprintf(format, args...))}
		}
		line = strings.TrimSpace(line) // Python str.strip()
		if line == "" {
			return bad("blank line")
		}
		name, label := line, -1
		if withLabel {
			cut := strings.LastIndexByte(line, ' ')
			if cut < 0 {
				return bad("want \"<filename> <label>\", got %q", line)
			}
			name = line[:cut]
			l, err := strconv.Atoi(strings.TrimSpace(line[cut+1:]))
			if err != nil {
				return bad("label %q is not an integer", line[cut+1:])
			}
			if l < 0 || (ds.NumClasses > 0 && l >= ds.NumClasses) {
				if ds.NumClasses > 0 {
					return bad("label %d out of range [0, %d)", l, ds.NumClasses)
				}
				return bad("negative label %d", l)
			}
			label = l
		}
		ds.Samples = append(ds.Samples, Sample{Path: joinRoot(ds.Root, name), Label: label})
	}
	if len(ds.Samples) == 0 {
		return &DatasetError{Path: ds.AnnFile, Err: FormatError("no samples")}
	}
	return nil
}

// hasImageExtension reports whether name ends with one of ImageExtensions,
// ignoring case.
func hasImageExtension(name string) bool {
	lower := strings.ToLower(name)
	for _, e := range ImageExtensions {
		if strings.HasSuffix(lower, e) {
			return true
		}
	}
	return false
}

// listImages returns the image files below dir, relative to dir (slash
// separated), sorted as Python sorts strings.
func listImages(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && hasImageExtension(d.Name()) {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files) // byte order of UTF-8 == code point order
	return files, err
}

func (ds *Dataset) scanFolders(withLabel, classesFixed bool) error {
	entries, err := os.ReadDir(ds.Root)
	if err != nil {
		return fmt.Errorf("imagenet: data folder: %w", err)
	}
	if !withLabel {
		files, err := listImages(ds.Root)
		if err != nil {
			return fmt.Errorf("imagenet: %w", err)
		}
		for _, f := range files {
			ds.Samples = append(ds.Samples, Sample{Path: filepath.Join(ds.Root, filepath.FromSlash(f)), Label: -1})
		}
		if len(ds.Samples) == 0 {
			return &DatasetError{Path: ds.Root, Err: FormatError(fmt.Sprintf("found 0 files (extensions %s)", strings.Join(ImageExtensions, ",")))}
		}
		return nil
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
		} else if e.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(filepath.Join(ds.Root, e.Name())); err == nil && st.IsDir() {
				folders = append(folders, e.Name())
			}
		}
	}
	sort.Strings(folders)
	if classesFixed && len(folders) != ds.NumClasses {
		return &DatasetError{Path: ds.Root, Err: FormatError(fmt.Sprintf(
			"found %d class folders, but the dataset has %d classes", len(folders), ds.NumClasses))}
	}
	for label, folder := range folders {
		dir := filepath.Join(ds.Root, folder)
		files, err := listImages(dir)
		if err != nil {
			return fmt.Errorf("imagenet: %w", err)
		}
		if len(files) == 0 {
			ds.EmptyClasses = append(ds.EmptyClasses, folder)
		}
		for _, f := range files {
			ds.Samples = append(ds.Samples, Sample{Path: filepath.Join(dir, filepath.FromSlash(f)), Label: label})
		}
	}
	if len(ds.Samples) == 0 {
		return &DatasetError{Path: ds.Root, Err: FormatError(fmt.Sprintf("found 0 files in class sub-folders (extensions %s)", strings.Join(ImageExtensions, ",")))}
	}
	if ds.Classes == nil {
		ds.Classes = folders
	}
	ds.NumClasses = len(folders)
	return nil
}

// ReadClassNames reads a classes file (one name per line, as
// meta/classes.txt or mmengine's classes-from-file), ignoring trailing
// blank lines.
func ReadClassNames(path string) ([]string, error) {
	data, err := readfile.ReadText(path, MaxListBytes)
	if err != nil {
		return nil, fmt.Errorf("imagenet: %w", err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		names = append(names, strings.TrimRight(sc.Text(), "\r"))
	}
	for len(names) > 0 && strings.TrimSpace(names[len(names)-1]) == "" {
		names = names[:len(names)-1]
	}
	return names, sc.Err()
}

// DatasetConfigFromMap reads a config's dataset dict (as decoded from
// JSON): type, data_root, split, ann_file, data_prefix (a string or a dict
// with "img_path"), with_label, and metainfo.classes or classes (a list, or
// a file path read with ReadClassNames, relative to the working directory
// like mmengine). "pipeline" and other loader-only keys (lazy_init,
// serialize_data, ...) are ignored; other keys are errors.
func DatasetConfigFromMap(m map[string]any) (DatasetConfig, error) {
	p := NewParams("dataset", m)
	p.Ignore("pipeline", "lazy_init", "serialize_data", "indices", "test_mode", "max_refetch", "extensions", "filter_cfg")
	var cfg DatasetConfig
	var err error
	get := func(dst *string, key string) {
		if err == nil {
			*dst, err = p.String(key, "")
		}
	}
	get(&cfg.Type, "type")
	get(&cfg.DataRoot, "data_root")
	get(&cfg.Split, "split")
	get(&cfg.AnnFile, "ann_file")
	if err != nil {
		return cfg, err
	}
	if p.Has("data_prefix") {
		switch v := m["data_prefix"].(type) {
		case string:
			cfg.DataPrefix = v
		case map[string]any:
			s, ok := v["img_path"].(string)
			if !ok || len(v) != 1 {
				return cfg, FormatError(fmt.Sprintf("data_prefix %v: want a string or {\"img_path\": string}", v))
			}
			cfg.DataPrefix = s
		default:
			return cfg, FormatError(fmt.Sprintf("data_prefix %v: want a string or {\"img_path\": string}", v))
		}
	}
	if p.Has("with_label") {
		b, err := p.Bool("with_label", true)
		if err != nil {
			return cfg, err
		}
		cfg.WithLabel = &b
	}
	var classes any
	if p.Has("metainfo") {
		mi, ok := m["metainfo"].(map[string]any)
		if !ok {
			return cfg, FormatError("metainfo: want a dict")
		}
		classes = mi["classes"]
	}
	if p.Has("classes") {
		classes = m["classes"]
	}
	switch c := classes.(type) {
	case nil:
	case string:
		if cfg.Classes, err = ReadClassNames(c); err != nil {
			return cfg, err
		}
	case []any:
		for _, v := range c {
			s, ok := v.(string)
			if !ok {
				return cfg, FormatError(fmt.Sprintf("classes: %v is not a string", v))
			}
			cfg.Classes = append(cfg.Classes, s)
		}
	default:
		return cfg, FormatError(fmt.Sprintf("classes: want a list or a file name, got %T", c))
	}
	return cfg, p.checkUnused()
}
