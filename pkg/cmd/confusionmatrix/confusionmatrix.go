// Package confusionmatrix implements `mobileone confusion-matrix`,
// mmpretrain's tools/analysis_tools/confusion_matrix.py: the confusion
// matrix of a results pickle or of a checkpoint on the config's test set,
// saved and drawn.
package confusionmatrix

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/plotting"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of confusion-matrix.
type Options struct {
	IO            *cmdutil.IOStreams
	Config        string
	Input         string // a .pth checkpoint (path or URL) or a results pickle
	CfgOptions    []string
	Out           string // the matrix (.pkl: a pickled int64 tensor, or .json)
	Show          bool
	ShowPath      string
	IncludeValues bool
	Cmap          string
	DataRoot      string
	// open shows a PNG (tests replace it).
	open func(path string) error
}

// NewCmdConfusionMatrix returns the confusion-matrix command.
func NewCmdConfusionMatrix(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, open: openViewer}
	cmd := &cobra.Command{
		Use:   "confusion-matrix CONFIG RESULTS.pkl|CHECKPOINT.pth",
		Short: "Compute and draw the confusion matrix of a results pickle or a checkpoint",
		Long: `Compute the confusion matrix (rows: true label, columns: predicted label) as
mmpretrain's tools/analysis_tools/confusion_matrix.py does: from a results pickle
of mobileone test --out or tools/test.py --out, or, given a .pth checkpoint, by
evaluating it on the config's test set. Class names come from the config's test
dataset (folder names, the classes setting, or ImageNet's names); when the dataset
cannot be listed, class indices are used, as upstream.

--show-path writes the picture as a PNG (10x10 inches at 100 dpi, as upstream's
figure), --show opens it in the system's image viewer, --out saves the matrix
itself (.pkl: a pickled int64 tensor as mmengine.dump writes it; .json: nested
lists). With none of them the matrix is printed. --include-values writes the
counts into the cells (up to 60 classes); --cmap names a matplotlib colour map.`,
		Example: `  mobileone confusion-matrix my_config.py preds.pkl --show-path cm.png --include-values
  mobileone confusion-matrix my_config.py work_dirs/my_config/epoch_10.pth --show-path cm.png --cmap Blues`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: printconfig.CompleteConfig, // CONFIG first, then files
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Input = args[0], args[1]
			if _, err := plotting.ParseColormap(opts.Cmap); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			if opts.ShowPath != "" && !strings.EqualFold(filepath.Ext(opts.ShowPath), ".png") {
				return cmdutil.FlagErrorf("--show-path %q: the picture is written as .png", opts.ShowPath)
			}
			if ext := strings.ToLower(filepath.Ext(opts.Out)); opts.Out != "" && ext != ".pkl" && ext != ".pickle" && ext != ".json" {
				return cmdutil.FlagErrorf("--out %q: the matrix is written as .pkl/.pickle or .json", opts.Out)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "save the matrix (.pkl or .json)")
	fl.BoolVar(&opts.Show, "show", false, "open the picture in the system's image viewer")
	fl.StringVar(&opts.ShowPath, "show-path", "", "write the picture to this .png file")
	fl.BoolVar(&opts.IncludeValues, "include-values", false, "write the counts into the cells")
	fl.StringVar(&opts.Cmap, "cmap", "viridis", "the colour map (matplotlib's name: viridis, Blues, ...)")
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	fl.StringVar(&opts.DataRoot, "data-root", "", "override test_dataloader.dataset.data_root")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	cfg, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	var matrix [][]int64
	var classes []string
	if isCheckpoint(opts.Input) {
		matrix, classes, err = fromCheckpoint(ctx, opts, cfg, mc)
	} else {
		matrix, classes, err = fromResults(opts, cfg)
	}
	if err != nil {
		return err
	}
	if classes != nil && len(classes) != len(matrix) {
		fmt.Fprintf(opts.IO.ErrOut, "warning: the dataset has %d classes and the matrix %d: using class indices\n", len(classes), len(matrix))
		classes = nil
	}
	if opts.Out != "" {
		if err := saveMatrix(opts.Out, matrix); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "The confusion matrix is saved at %s.\n", opts.Out)
	}
	if opts.Show || opts.ShowPath != "" {
		cm, _ := plotting.ParseColormap(opts.Cmap)
		fig := plotting.ConfusionFigure{Matrix: matrix, Classes: classes, IncludeValues: opts.IncludeValues, Cmap: cm}
		path := opts.ShowPath
		if path == "" {
			f, err := os.CreateTemp("", "confusion-matrix-*.png")
			if err != nil {
				return err
			}
			f.Close()
			path = f.Name()
		}
		if err := plotting.WriteConfusionPNG(path, fig); err != nil {
			return err
		}
		if opts.ShowPath != "" {
			fmt.Fprintf(opts.IO.Out, "The confusion matrix is saved at %s.\n", opts.ShowPath)
		}
		if opts.Show {
			if err := opts.open(path); err != nil {
				return fmt.Errorf("--show: %w (the picture is at %s)", err, path)
			}
		}
	}
	if opts.Out == "" && !opts.Show && opts.ShowPath == "" {
		fmt.Fprintln(opts.IO.Out, evaluate.TensorRepr(matrix))
	}
	return nil
}

// isCheckpoint tells a checkpoint from a results file as upstream does (by
// the .pth ending), URLs included.
func isCheckpoint(p string) bool {
	return strings.HasSuffix(p, ".pth") || strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://")
}

// fromResults computes the matrix of a results pickle; the class names
// come from the config's test dataset when it can be listed.
func fromResults(opts *Options, cfg *config.Config) ([][]int64, []string, error) {
	preds, err := evaluate.LoadResults(opts.Input)
	if err != nil {
		return nil, nil, err
	}
	matrix, err := confusion(preds)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", opts.Input, err)
	}
	ds, err := setup.Dataset(cfg, "test_dataloader.dataset", opts.DataRoot)
	if err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "notice: no class names (the test dataset cannot be listed: %v); using class indices\n", err)
		return matrix, nil, nil
	}
	return matrix, setup.ClassNames(ds), nil
}

func confusion(preds []evaluate.Prediction) ([][]int64, error) {
	ev, err := evaluate.New(&evaluate.ConfusionMatrix{})
	if err != nil {
		return nil, err
	}
	ms, err := evaluate.Offline(ev, preds)
	if err != nil {
		return nil, err
	}
	return ms[0].Matrix, nil
}

// fromCheckpoint evaluates the checkpoint on the config's test set with
// ConfusionMatrix as the test_evaluator, as upstream does.
func fromCheckpoint(ctx context.Context, opts *Options, cfg *config.Config, mc model.Config) ([][]int64, []string, error) {
	norm, err := setup.Normalizer(cfg)
	if err != nil {
		return nil, nil, err
	}
	pipe, err := setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
	if err != nil {
		return nil, nil, err
	}
	loaded, err := setup.LoadModel(ctx, mc, opts.Input, opts.IO.ErrOut, opts.IO.ErrOut)
	if err != nil {
		return nil, nil, err
	}
	// The same test set as test's: its class count and labels checked
	// against the model, test_dataloader.batch_size validated.
	ds, _, err := setup.TestSet(cfg, opts.DataRoot, mc.NumClasses, false)
	if err != nil {
		return nil, nil, err
	}
	batch, err := setup.TestBatchSize(cfg)
	if err != nil {
		return nil, nil, err
	}
	workers, err := setup.TestWorkers(cfg)
	if err != nil {
		return nil, nil, err
	}
	ev, _ := evaluate.New(&evaluate.ConfusionMatrix{})
	loader := imagenet.NewLoader(ds, nil, pipe, norm, batch, workers, imagenet.LoaderOptions{})
	defer loader.Close()
	fmt.Fprintf(opts.IO.ErrOut, "Testing %s on %d images of %s\n", loaded.Path, len(ds.Samples), ds.Root)
	res, err := evaluate.Run(ctx, loaded.Model.NewPredictor(), loader, evaluate.Options{Evaluator: ev})
	if err != nil {
		return nil, nil, err
	}
	for _, w := range loader.Warnings() {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s: %v\n", w.Sample.Path, w.Err)
	}
	if res.Metrics == nil {
		return nil, nil, fmt.Errorf("%s has no labels: no confusion matrix", ds.Root)
	}
	return res.Metrics[0].Matrix, setup.ClassNames(ds), nil
}

// saveMatrix writes the matrix as mmengine.dump(cm, out) does for .pkl (a
// pickled int64 tensor), or as nested JSON lists.
func saveMatrix(path string, m [][]int64) error {
	var data []byte
	var err error
	if strings.EqualFold(filepath.Ext(path), ".json") {
		data, err = json.Marshal(m)
	} else {
		data, err = checkpoint.MarshalPickle(evaluate.Metric{Matrix: m}.PythonValue())
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data)
}

// openViewer opens a picture with the desktop's viewer.
func openViewer(path string) error {
	var name string
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return exec.Command("cmd", "/c", "start", "", path).Start()
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return fmt.Errorf("no display to show the picture on (DISPLAY is not set); use --show-path")
		}
		name = "xdg-open"
	}
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("no image viewer (%s not found); use --show-path", name)
	}
	return exec.Command(name, path).Start()
}
