package setup

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// TestSet lists the config's test_dataloader.dataset (dataRoot, when given,
// overrides its data_root) for a model of numClasses classes, as test and
// confusion-matrix evaluate a checkpoint on it: a test set of more classes
// than the model is an error, and every label is checked against the model.
// With skipInvalid, bad annotation lines and labels out of range are left
// out and returned (in file order) instead of stopping.
func TestSet(cfg *config.Config, dataRoot string, numClasses int, skipInvalid bool) (*imagenet.Dataset, []error, error) {
	ds, bad, err := listDataset(cfg, dataRoot, skipInvalid)
	if err != nil {
		return nil, nil, err
	}
	if ds.NumClasses > numClasses {
		return nil, nil, fmt.Errorf("the test set %s has %d classes but the model has %d (model.head.num_classes)", ds.Root, ds.NumClasses, numClasses)
	}
	// Labels the dataset could not check (CustomDataset with an annotation
	// file and no classes) are checked against the model.
	if ds.Samples, bad, err = checkLabels(ds, numClasses, bad, skipInvalid); err != nil {
		return nil, nil, err
	}
	return ds, bad, nil
}

// TestBatchSize is test_dataloader.batch_size (1 when unset); a value below
// 1 is an error naming the config file.
func TestBatchSize(cfg *config.Config) (int, error) {
	batch := 1
	if v, ok := cfg.Get("test_dataloader.batch_size"); ok && v != nil {
		if err := cfg.Decode("test_dataloader.batch_size", &batch); err != nil {
			return 0, err
		}
		if batch < 1 {
			return 0, fmt.Errorf("%s: test_dataloader.batch_size must be at least 1, got %d", cfg.Filename, batch)
		}
	}
	return batch, nil
}

// listDataset lists test_dataloader.dataset. With --skip-invalid, bad
// annotation lines (malformed, or a label out of range) are left out and
// returned; the rest of the file is read with the same rules.
func listDataset(cfg *config.Config, dataRoot string, skipInvalid bool) (*imagenet.Dataset, []error, error) {
	const path = "test_dataloader.dataset"
	ds, err := Dataset(cfg, path, dataRoot)
	var de *imagenet.DatasetError
	if err == nil || !skipInvalid || !errors.As(err, &de) || de.Line == 0 {
		return ds, nil, err
	}
	annFile := de.Path
	data, rerr := os.ReadFile(annFile)
	if rerr != nil {
		return nil, nil, err
	}
	lines := strings.Split(string(data), "\n")
	bad := map[int]error{de.Line: de} // by line number in annFile
	for {
		// Read the file again without the bad lines, until it passes;
		// kept maps a line of the filtered copy to its line in annFile.
		var b strings.Builder
		var kept []int
		for i, l := range lines {
			if bad[i+1] == nil {
				if len(kept) > 0 {
					b.WriteByte('\n')
				}
				b.WriteString(l)
				kept = append(kept, i+1)
			}
		}
		tmp, terr := os.CreateTemp("", "mobileone-ann-*.txt")
		if terr != nil {
			return nil, nil, terr
		}
		_, terr = tmp.WriteString(b.String())
		tmp.Close()
		if terr == nil {
			terr = cfg.Set(path+".ann_file", tmp.Name())
		}
		if terr != nil {
			os.Remove(tmp.Name())
			return nil, nil, terr
		}
		ds, err = Dataset(cfg, path, dataRoot)
		os.Remove(tmp.Name())
		if err == nil {
			ds.AnnFile = annFile
			var out []error
			for i := 1; i <= len(lines); i++ {
				if e := bad[i]; e != nil {
					out = append(out, e)
				}
			}
			return ds, out, nil
		}
		if !errors.As(err, &de) || de.Line == 0 || de.Line > len(kept) {
			// e.g. every line was bad: "no samples"
			return nil, nil, fmt.Errorf("%s: %w (after leaving out %d invalid lines)", annFile, unwrapDatasetError(err), len(bad))
		}
		bad[kept[de.Line-1]] = &imagenet.DatasetError{Path: annFile, Line: kept[de.Line-1], Err: de.Err}
	}
}

func unwrapDatasetError(err error) error {
	var de *imagenet.DatasetError
	if errors.As(err, &de) {
		return de.Err
	}
	return err
}

// checkLabels checks every label against the model's class count. Samples
// with a label out of range are an error naming the annotation file and
// line, or with skip are left out and added to bad.
func checkLabels(ds *imagenet.Dataset, numClasses int, bad []error, skip bool) ([]imagenet.Sample, []error, error) {
	var keep []imagenet.Sample
	for i, s := range ds.Samples {
		if s.Label < numClasses {
			if keep != nil {
				keep = append(keep, s)
			}
			continue
		}
		e := error(&imagenet.SampleError{Sample: s, Err: fmt.Errorf("label %d out of range [0, %d) of the model's classes", s.Label, numClasses)})
		if ds.AnnFile != "" {
			e = &imagenet.DatasetError{Path: ds.AnnFile, Line: annLine(ds, bad, i), Err: imagenet.FormatError(fmt.Sprintf("%s: label %d out of range [0, %d) of the model's classes", s.Path, s.Label, numClasses))}
		}
		if !skip {
			return nil, nil, e
		}
		if keep == nil {
			keep = append([]imagenet.Sample{}, ds.Samples[:i]...)
		}
		bad = append(bad, e)
	}
	if keep == nil {
		return ds.Samples, bad, nil
	}
	if len(keep) == 0 {
		return nil, nil, fmt.Errorf("%s: no valid samples (%d left out)", ds.AnnFile, len(bad))
	}
	for i := range keep {
		keep[i].Index = i
	}
	return keep, bad, nil
}

// annLine returns the line of annotation file holding sample i, given the
// lines already left out (annotation files have one sample per line).
func annLine(ds *imagenet.Dataset, bad []error, i int) int {
	var skipped []int
	for _, e := range bad {
		var de *imagenet.DatasetError
		if errors.As(e, &de) && de.Line > 0 {
			skipped = append(skipped, de.Line)
		}
	}
	sort.Ints(skipped)
	line := i + 1
	for _, l := range skipped {
		if l <= line {
			line++
		}
	}
	return line
}

// TestWorkers is test_dataloader.num_workers, the decode goroutines of a
// test run, at most the number of CPUs (0: decoding in the main loop, as
// PyTorch's num_workers=0); the number of CPUs when unset. A negative value
// is an error naming the config file.
func TestWorkers(cfg *config.Config) (int, error) {
	const key = "test_dataloader.num_workers"
	v, ok := cfg.Get(key)
	if !ok || v == nil {
		return runtime.NumCPU(), nil
	}
	var n int
	if err := cfg.Decode(key, &n); err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("%s: %s must not be negative, got %d", cfg.Filename, key, n)
	}
	return min(n, runtime.NumCPU()), nil
}
