// Package infer implements `mobileone infer`, what mmpretrain's
// demo/image_demo.py and ImageClassificationInferencer do.
package infer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/predict"
)

// DefaultConfig is the config infer uses when --config is not given.
const DefaultConfig = "mobileone-s0_8xb32_in1k"

// Options are the parsed arguments of infer.
type Options struct {
	IO         *cmdutil.IOStreams
	HTTPClient func() *http.Client
	Images     []string
	Config     string
	Checkpoint string
	CfgOptions []string
	TopK       int
	JSON       bool
	BatchSize  int
	Workers    int
	Out        string
	ShowDir    string
	// RescaleFactor resizes the --show-dir pictures (0: as they are).
	RescaleFactor float64
	SkipInvalid   bool
	Strict        bool
	Launcher      string        // none, pytorch, slurm or mpi
	DistTimeout   time.Duration // how long a silent rank is waited for
	WorkDir       string        // where the ranks meet (--launcher)
}

// NewCmdInfer returns the infer command.
func NewCmdInfer(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, HTTPClient: f.HTTPClient}
	cmd := &cobra.Command{
		Use:   "infer IMAGE... [MODEL]",
		Short: "Classify images with a MobileOne checkpoint",
		Long: `Classify images as mmpretrain's ImageClassificationInferencer does: decode like
OpenCV, apply the config's test pipeline (ResizeEdge 256 with Pillow's bilinear filter,
CenterCrop 224), normalize, run the model and print the best classes.

IMAGE may be a file, a folder (its image files, recursively: .jpg .jpeg .png .ppm
.bmp .pgm .tif as mmpretrain's IMG_EXTENSIONS, hidden files left out, sorted), a
glob pattern ('photos/*.jpg') or an http(s) URL. Images are decoded by worker
goroutines with the same loader as test, in batches of --batch-size, and each
result is printed as soon as it is ready, in input order; memory stays flat
however many images there are. A progress bar is drawn when stderr is a terminal.

As in demo/image_demo.py, the model may be given as a last positional argument
MODEL (a config name or a .py/.json/.yaml config file) instead of --config.
Without --checkpoint the official mmpretrain checkpoint of the config is
downloaded once into the torch hub cache ($TORCH_HOME/hub/checkpoints, default
~/.cache/torch/hub/checkpoints). A train-time checkpoint with a deploy config is
reparameterized on load.

An image that cannot be read or decoded stops the run with an error naming it
(the results before it are printed). With --skip-invalid it is reported on stderr
and skipped, the rest go on and the exit code is 0; add --strict to exit with 1 at
the end if any image failed. A damaged JPEG that still decodes gets libjpeg's
warning ("Premature end of JPEG file") naming the file.

--out FILE writes every result to FILE as a JSON array (.json), JSON Lines
(.jsonl) or CSV (.csv), atomically at the end. --show-dir DIR writes each image
as DIR/<name>.png with its top-k labels and scores drawn at the top-left, as
mmpretrain's visualizer (visualize_cls) does; --rescale-factor F first resizes the
picture by F (the inferencer's rescale_factor), so that the text, drawn in
proportion to the image, is readable on small images.`,
		Example: `  mobileone infer demo.JPEG
  mobileone infer demo.JPEG mobileone-s0_8xb32_in1k --checkpoint s0.pth
  mobileone infer photos/ --config mobileone-s0_deploy_8xb32_in1k --checkpoint s0_deploy.pth --out results.csv --show-dir vis
  mobileone infer 'photos/*.jpg' https://example.com/cat.jpg --skip-invalid --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			if len(args) >= 2 && !cmd.Flags().Changed("config") && IsModelArg(args[len(args)-1]) {
				opts.Config, opts.Images = args[len(args)-1], args[:len(args)-1]
			}
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Config, "config", "c", DefaultConfig, "config file or built-in config name")
	fl.StringVar(&opts.Checkpoint, "checkpoint", "", "checkpoint path or URL (default: the official checkpoint of the config)")
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	fl.IntVarP(&opts.TopK, "topk", "k", 5, "how many of the best classes to print")
	fl.BoolVar(&opts.JSON, "json", false, "print a JSON array of results")
	fl.IntVar(&opts.BatchSize, "batch-size", 8, "images per forward pass")
	fl.IntVar(&opts.Workers, "workers", 0, "decode/preprocess goroutines (default: the number of CPUs)")
	fl.StringVar(&opts.Out, "out", "", "also write the results to this .json, .jsonl or .csv file")
	fl.StringVar(&opts.ShowDir, "show-dir", "", "write each image with its predictions drawn on it to this folder (PNG)")
	fl.Float64Var(&opts.RescaleFactor, "rescale-factor", 0, "with --show-dir: resize the pictures by this factor first")
	fl.BoolVar(&opts.SkipInvalid, "skip-invalid", false, "report unreadable or corrupt images and go on instead of stopping")
	fl.BoolVar(&opts.Strict, "strict", false, "with --skip-invalid: exit with 1 at the end if any image failed")
	fl.StringVar(&opts.Launcher, "launcher", dist.LauncherNone, "job launcher: none, pytorch (torchrun), slurm (srun) or mpi; the images are shared out among the ranks")
	fl.DurationVar(&opts.DistTimeout, "dist-timeout", dist.DefaultTimeout, "with --launcher: how long the ranks wait for a silent rank before they fail")
	fl.StringVar(&opts.WorkDir, "work-dir", "work_dirs/infer", "with --launcher: a folder every rank can reach, where they meet")
	_ = cmd.RegisterFlagCompletionFunc("config", func(c *cobra.Command, a []string, s string) ([]string, cobra.ShellCompDirective) {
		return printconfig.CompleteConfig(c, nil, s)
	})
	return cmd
}

// check validates the flags before anything is loaded.
func (o *Options) check() error {
	switch {
	case o.TopK < 1:
		return cmdutil.FlagErrorf("--topk must be at least 1, got %d", o.TopK)
	case o.BatchSize < 1:
		return cmdutil.FlagErrorf("--batch-size must be at least 1, got %d", o.BatchSize)
	case o.Workers < 0:
		return cmdutil.FlagErrorf("--workers must not be negative, got %d", o.Workers)
	case o.RescaleFactor < 0 || o.RescaleFactor > 0 && o.ShowDir == "":
		return cmdutil.FlagErrorf("--rescale-factor must be positive and goes with --show-dir, got %g", o.RescaleFactor)
	case o.Strict && !o.SkipInvalid:
		return cmdutil.FlagErrorf("--strict goes with --skip-invalid (without it the first bad image stops the run)")
	case !slices.Contains(dist.Launchers, o.Launcher) && o.Launcher != "":
		return cmdutil.FlagErrorf("--launcher must be one of %s, got %q", strings.Join(dist.Launchers, ", "), o.Launcher)
	case o.DistTimeout < 0:
		return cmdutil.FlagErrorf("--dist-timeout must be positive, got %s", o.DistTimeout)
	}
	if o.Out != "" && outFormat(o.Out) == "" {
		return cmdutil.FlagErrorf("--out %q: results are written as .json, .jsonl or .csv", o.Out)
	}
	return nil
}

// IsModelArg reports whether a positional argument names a model (a
// config) rather than an image: demo/image_demo.py's `img model` form.
func IsModelArg(s string) bool {
	switch strings.ToLower(filepath.Ext(s)) {
	case ".py", ".json", ".yaml", ".yml":
		return !predict.IsURL(s)
	}
	return slices.Contains(config.BuiltinNames(), s)
}

// Result is one image's prediction; its JSON form is infer --json's.
type Result = predict.Result

// Class is one entry of a top-K list.
type Class = predict.Class

func run(ctx context.Context, opts *Options) error {
	if opts.Workers == 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = func() *http.Client { return http.DefaultClient }
	}
	// Outputs are checked before the model is loaded or any image read.
	if opts.Out != "" {
		if err := atomicfile.CheckFile(opts.Out); err != nil {
			return err
		}
	}
	if opts.ShowDir != "" {
		if err := atomicfile.CheckDir(opts.ShowDir); err != nil {
			return err
		}
	}
	sources, err := predict.ListInputs(opts.Images)
	if err != nil {
		return err
	}
	env, err := dist.FromEnv(opts.Launcher, os.LookupEnv)
	if err != nil {
		return err
	}
	if env.Distributed() {
		return runDist(ctx, opts, env, sources)
	}
	job, err := newJob(ctx, opts, sources)
	if err != nil {
		return err
	}
	if opts.Out == "" {
		err = job.stream(ctx, nil)
	} else {
		if err := os.MkdirAll(filepath.Dir(opts.Out), 0o755); err != nil {
			return err
		}
		err = atomicfile.WriteContext(ctx, opts.Out, func(w io.Writer) error { return job.stream(ctx, newSink(opts.Out, w)) })
		if err == nil {
			fmt.Fprintf(opts.IO.ErrOut, "results written to %s\n", opts.Out)
		}
	}
	if ctx.Err() != nil && !errors.Is(err, cmdutil.ErrCancel) {
		return fmt.Errorf("%w: %v", cmdutil.ErrCancel, ctx.Err())
	}
	if err != nil {
		return err
	}
	if n := len(job.failed); n > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%d of %d images failed and were skipped\n", n, len(sources))
		if opts.Strict {
			return cmdutil.ErrSilent
		}
	}
	return nil
}
