// Package test implements `mobileone test`, mmpretrain's tools/test.py:
// evaluate a checkpoint on the config's test set and print its accuracy.
package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mobileone-go/mobileone/internal/atomicfile"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of test.
type Options struct {
	IO          *cmdutil.IOStreams
	Now         func() time.Time
	Config      string
	Checkpoint  string
	CfgOptions  []string
	WorkDir     string
	Out         string
	OutItem     string
	BatchSize   int
	Workers     int
	TTA         bool
	DataRoot    string
	JSON        bool
	SkipInvalid bool
	Launcher    string        // none, pytorch, slurm or mpi
	DistTimeout time.Duration // how long a silent rank is waited for

	// decode replaces imagenet.DecodeFile (tests); chunk is the forward
	// pass size (0: evaluate's default).
	decode func(path string) (*imagenet.Image, error)
	chunk  int
}

// NewCmdTest returns the test command.
func NewCmdTest(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "test CONFIG CHECKPOINT",
		Short: "Evaluate a checkpoint on the config's test set with its test_evaluator",
		Long: `Evaluate a checkpoint as mmpretrain's tools/test.py does: the config's
test_dataloader dataset (ImageNet or CustomDataset; annotation-file or folder layout)
through its test pipeline, and the config's test_evaluator: Accuracy(topk, thrs),
SingleLabelMetric(thrs, items, average, num_classes) and ConfusionMatrix, alone or
in a list, with mmpretrain's float32 arithmetic, printed as mmengine prints them and
saved as JSON in <work-dir>/<timestamp>/<timestamp>.json.

Images are decoded and preprocessed by worker goroutines while the model runs;
memory stays bounded and results come in dataset order. CHECKPOINT may be a path
or an https:// URL (downloaded once into the torch hub cache). A train-time
checkpoint with a deploy config is reparameterized on load; a checkpoint with
another class count than the config's model is an error.

--out FILE.pkl (or .pickle) writes what mmpretrain's tools/test.py --out writes
(mmengine.dump, a protocol-2 pickle) and its analysis tools read: one dict per
sample with sample_idx, img_path, num_classes, scale_factor, img_shape, ori_shape,
and torch tensors gt_label and pred_label (int64) and pred_score (float32), which
pickle.load reads with torch installed; --out FILE.json writes sample_idx, img_path,
gt_label, pred_label, pred_score and num_classes as JSON; --out-item metrics writes
the metrics instead (floats, ints, lists, the confusion matrix as a tensor). With --tta, pred_score is the mean
of the flipped and the original view and, as upstream, pred_label is the flipped
view's.

A missing, unreadable or corrupt image, a label out of range or a malformed
annotation line stops the run with an error naming the file (and line). With
--skip-invalid such samples are left out, listed at the end and counted in the
accuracy line; the accuracy is over the remaining samples.`,
		Example: `  mobileone test mobileone-s0_8xb32_in1k mobileone-s0_8xb32_in1k_20221110-0bc94952.pth --data-root data/imagenet
  mobileone test mobileone-s0_deploy_8xb32_in1k s0_deploy.pth --data-root data/imagenet --out preds.pkl
  mobileone test my_config.py work_dirs/my_config/epoch_30.pth --tta --json`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: printconfig.CompleteConfig, // CONFIG first, then files
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Checkpoint = args[0], args[1]
			if cmd.Flags().Changed("out-item") && opts.Out == "" {
				return cmdutil.FlagErrorf("--out-item needs --out")
			}
			if opts.OutItem != "pred" && opts.OutItem != "metrics" {
				return cmdutil.FlagErrorf("--out-item must be pred or metrics, got %q", opts.OutItem)
			}
			if opts.Out != "" && opts.OutItem == "pred" {
				ext := strings.ToLower(filepath.Ext(opts.Out))
				if ext != ".pkl" && ext != ".pickle" && ext != ".json" {
					return cmdutil.FlagErrorf("--out %q: predictions are written as .pkl/.pickle or .json", opts.Out)
				}
			}
			if cmd.Flags().Changed("batch-size") && opts.BatchSize < 1 {
				return cmdutil.FlagErrorf("--batch-size must be at least 1, got %d", opts.BatchSize)
			}
			if opts.Workers < 0 {
				return cmdutil.FlagErrorf("--workers must not be negative, got %d", opts.Workers)
			}
			if !slices.Contains(dist.Launchers, opts.Launcher) {
				return cmdutil.FlagErrorf("--launcher must be one of %s, got %q", strings.Join(dist.Launchers, ", "), opts.Launcher)
			}
			if opts.DistTimeout <= 0 {
				return cmdutil.FlagErrorf("--dist-timeout must be positive, got %s", opts.DistTimeout)
			}
			if !cmd.Flags().Changed("workers") {
				opts.Workers = -1 // test_dataloader.num_workers
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	fl.StringVar(&opts.WorkDir, "work-dir", "", "where to save the metrics (default ./work_dirs/<config name>)")
	fl.StringVar(&opts.Out, "out", "", "dump predictions (.pkl or .json) or, with --out-item metrics, the metrics")
	fl.StringVar(&opts.OutItem, "out-item", "pred", "what --out holds: pred or metrics")
	fl.IntVar(&opts.BatchSize, "batch-size", 0, "images per batch (default: test_dataloader.batch_size)")
	fl.IntVar(&opts.Workers, "workers", 0, "decode/preprocess goroutines (default: test_dataloader.num_workers, at most the number of CPUs; 0: decode in the main loop, as num_workers=0)")
	fl.BoolVar(&opts.TTA, "tta", false, "test-time augmentation: average the scores of the image and its horizontal flip")
	fl.StringVar(&opts.DataRoot, "data-root", "", "override test_dataloader.dataset.data_root")
	fl.BoolVar(&opts.JSON, "json", false, "print the metrics as a JSON object on stdout")
	fl.BoolVar(&opts.SkipInvalid, "skip-invalid", false, "leave out unreadable or corrupt images (counted and listed) instead of stopping")
	fl.StringVar(&opts.Launcher, "launcher", dist.LauncherNone, "job launcher: none, pytorch (torchrun), slurm (srun) or mpi; rank and world size come from its environment")
	fl.DurationVar(&opts.DistTimeout, "dist-timeout", dist.DefaultTimeout, "with --launcher: how long the ranks wait for a silent rank before they fail")
	return cmd
}

func run(ctx context.Context, opts *Options) (err error) {
	env, err := dist.FromEnv(opts.Launcher, os.LookupEnv)
	if err != nil {
		return err
	}
	cfg, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	norm, err := setup.Normalizer(cfg)
	if err != nil {
		return err
	}
	evaluator, err := evaluate.FromConfig(cfg, "test_evaluator")
	if err != nil {
		return err
	}
	pipe, err := setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
	if err != nil {
		return err
	}
	// Outputs are checked before anything is loaded: a work dir that is a
	// file or read-only, --out that is a folder or the checkpoint itself
	// fail now, not after the evaluation.
	workDir := opts.WorkDir
	if workDir == "" {
		if _, ok := cfg.Get("work_dir"); ok { // None: the default below, as tools/test.py
			if err := cfg.Decode("work_dir", &workDir); err != nil {
				return err
			}
		}
	}
	if workDir == "" {
		base := filepath.Base(cfg.Filename)
		workDir = filepath.Join("work_dirs", strings.TrimSuffix(base, filepath.Ext(base))) // osp.splitext, as tools/test.py
	}
	if err := atomicfile.CheckDir(workDir); err != nil {
		return fmt.Errorf("--work-dir: %w", err)
	}
	if opts.Out != "" {
		if err := atomicfile.CheckFile(opts.Out, opts.Checkpoint); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	// With a launcher the ranks meet in the work dir (mmengine's init_dist
	// comes first too); a failing rank tells the others.
	var group *dist.Group
	if env.Distributed() {
		if group, err = dist.Join(ctx, env, dist.SharedDir(workDir, env), opts.DistTimeout); err != nil {
			return err
		}
		defer func() {
			if err == nil && env.Rank == 0 { // the results are out: release the others
				_, err = group.Broadcast("finished", nil)
			}
			if cerr := group.Close(err); err == nil {
				err = cerr
			}
		}()
		ctx = group.Context()
	}
	// The checkpoint is loaded (and checked against the model) before the
	// data set is listed and before any image is read, so that a checkpoint
	// of another class count is reported as such, not as bad labels.
	loaded, err := setup.LoadModel(ctx, mc, opts.Checkpoint, opts.IO.ErrOut, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	ds, badLines, err := setup.TestSet(cfg, opts.DataRoot, mc.NumClasses, opts.SkipInvalid)
	if err != nil {
		return err
	}
	batch := opts.BatchSize
	if batch == 0 {
		if batch, err = setup.TestBatchSize(cfg); err != nil {
			return err
		}
	}
	// --workers 0 is PyTorch's num_workers=0: no worker processes, the
	// samples are loaded one at a time (here: by a single goroutine).
	workers := opts.Workers
	if workers < 0 {
		if workers, err = setup.TestWorkers(cfg); err != nil {
			return err
		}
	}
	// test_dataloader.sampler deals the samples to the ranks (and orders
	// them: --out lists them in sampler order, as upstream's does).
	sampler, seeded, err := setup.Sampler(cfg, "test_dataloader", len(ds.Samples), env)
	if err != nil {
		return err
	}
	if !seeded { // sync_random_seed: rank 0 draws, the others take its seed
		seed := []byte(strconv.Itoa(rand.IntN(1 << 31)))
		if group != nil {
			if seed, err = group.Broadcast("seed", seed); err != nil {
				return err
			}
		}
		sampler.Seed, _ = strconv.ParseInt(string(seed), 10, 64)
	}
	indices := sampler.Indices()
	if env.Distributed() {
		fmt.Fprintf(opts.IO.ErrOut, "Rank %d of %d (--launcher %s): %d of the %d images\n", env.Rank, env.WorldSize, env.Launcher, len(indices), len(ds.Samples))
	}
	loader := imagenet.NewLoader(ds, indices, pipe, norm, batch, workers, imagenet.LoaderOptions{SkipInvalid: opts.SkipInvalid, Decode: opts.decode})
	defer loader.Close()
	total := loader.NumBatches()
	fmt.Fprintf(opts.IO.ErrOut, "Testing %s on %d images of %s (batch %d, %d workers)\n", loaded.Path, len(ds.Samples), ds.Root, batch, workers)
	progress := cmdutil.NewProgress(opts.IO, "test", len(ds.Samples), batch, total)
	res, err := evaluate.Run(ctx, loaded.Model.NewPredictor(), loader, evaluate.Options{Evaluator: evaluator, TTA: opts.TTA, KeepPredictions: env.Distributed() || opts.Out != "" && opts.OutItem == "pred", Chunk: opts.chunk, Progress: progress.Update})
	progress.Finish()
	if err == nil && env.Distributed() {
		// collect_results: rank 0 merges every rank's predictions and
		// evaluates; the other ranks wait until it is done.
		if res, err = evaluate.Collect(group, *sampler, evaluator, res); err == nil && res == nil {
			_, err = group.Broadcast("finished", nil)
			return err
		}
	}
	if err != nil {
		return cmdutil.DistError(ctx, err)
	}
	for _, w := range loader.Warnings() {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s: %v\n", w.Sample.Path, w.Err)
	}
	if res.Metrics == nil {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s has no labels (ImageNet split \"test\" or with_label=False): no accuracy\n", ds.Root)
	}
	perIter := res.Time.Seconds() / float64(max(1, res.Batches))
	dataPerIter := res.DataTime.Seconds() / float64(max(1, res.Batches))
	line := fmt.Sprintf("Epoch(test) [%d/%d]    ", res.Batches, total)
	if len(res.Metrics) > 0 {
		line += evaluate.FormatLog(res.Metrics) + "  "
	}
	line += fmt.Sprintf("data_time: %.4f  time: %.4f", dataPerIter, perIter)
	skipped := len(badLines) + len(res.Skipped)
	if skipped > 0 {
		line += fmt.Sprintf("  (%d of %d samples skipped as invalid)", skipped, len(ds.Samples)+len(badLines))
		fmt.Fprintf(opts.IO.ErrOut, "skipped %d invalid samples:\n", skipped)
		for _, e := range badLines {
			fmt.Fprintf(opts.IO.ErrOut, "  %v\n", e)
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(opts.IO.ErrOut, "  %v\n", s.Error())
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "%d images in %.1f s: %.1f images/s\n", res.Samples, res.Time.Seconds(), float64(res.Samples)/res.Time.Seconds())

	// The metrics are printed before any output is written, so that a
	// failing write never loses them.
	var extra []jsonItem
	if opts.SkipInvalid {
		extra = append(extra, jsonItem{"skipped", fmt.Sprint(skipped)})
	}
	if opts.JSON {
		fmt.Fprintln(opts.IO.ErrOut, line)
		fmt.Fprintln(opts.IO.Out, string(pyJSON(append(metricItems(res.Metrics, false), extra...))))
	} else {
		fmt.Fprintln(opts.IO.Out, line)
	}
	if err := saveRun(opts, workDir, res.Metrics, extra, perIter, dataPerIter); err != nil {
		return err
	}
	if opts.Out != "" {
		if err := dumpOut(opts, res.Metrics, res.Predictions); err != nil {
			return err
		}
	}
	return nil
}

// saveRun writes the metrics into <work_dir>/<timestamp>/<timestamp>.json
// as mmengine's LoggerHook.after_test_epoch does: the metrics, then
// data_time and time (seconds per iteration).
func saveRun(opts *Options, workDir string, metrics []evaluate.Metric, extra []jsonItem, perIter, dataPerIter float64) error {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	stamp, dir, err := runDir(workDir, now().Format("20060102_150405"))
	if err != nil {
		return err
	}
	items := append(append(metricItems(metrics, true), extra...), jsonItem{"data_time", evaluate.PyFloat(dataPerIter)}, jsonItem{"time", evaluate.PyFloat(perIter)})
	b := pyJSON(items)
	path := filepath.Join(dir, stamp+".json")
	if err := atomicfile.WriteFile(path, b); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "metrics saved to %s\n", path)
	return nil
}

// runDir creates mmengine's per-run folder <workDir>/<timestamp>. A run
// started in the same second as another gets <timestamp>_2, _3, ...:
// the folder is created exclusively, so two runs never share one.
func runDir(workDir, stamp string) (string, string, error) {
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return "", "", err
	}
	for i := 1; ; i++ {
		name := stamp
		if i > 1 {
			name = fmt.Sprintf("%s_%d", stamp, i)
		}
		dir := filepath.Join(workDir, name)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return name, dir, nil
		}
		if !errors.Is(err, os.ErrExist) || i == 1000 {
			return "", "", err
		}
	}
}

// dumpOut writes --out: the predictions (DumpResults: a pickled list of
// per-sample dicts, or the same as JSON) or the metrics (mmengine.dump,
// format by extension).
func dumpOut(opts *Options, metrics []evaluate.Metric, preds []evaluate.Prediction) error {
	ext := strings.ToLower(filepath.Ext(opts.Out))
	var data []byte
	var err error
	if opts.OutItem == "metrics" {
		switch ext {
		case ".pkl", ".pickle":
			data, err = evaluate.EncodeMetrics(metrics)
		default:
			data = pyJSON(metricItems(metrics, false))
		}
	} else {
		switch ext {
		case ".json":
			data, err = json.Marshal(preds)
		default:
			data, err = evaluate.EncodeResults(preds)
		}
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(opts.Out), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(opts.Out, data); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "results dumped to %s\n", opts.Out)
	return nil
}

// jsonItem is one key of a JSON object with its encoded value.
type jsonItem struct{ key, value string }

// metricItems are the metrics as JSON items in mmengine's log order
// (scalars first). log: as mmengine's JSON log writes them (an integer
// scalar such as support becomes null there); otherwise the integer.
func metricItems(ms []evaluate.Metric, log bool) []jsonItem {
	var items []jsonItem
	for _, m := range evaluate.LogOrder(ms) {
		v := m.JSONValue()
		if m.Int && m.Scalar() && !log {
			v = fmt.Sprint(int64(m.Value))
		}
		items = append(items, jsonItem{m.Name, v})
	}
	return items
}

// pyJSON writes the items as Python's json.dump does (mmengine.dump):
// ", " and ": " separators.
func pyJSON(items []jsonItem) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		kb, _ := json.Marshal(it.key)
		b.Write(kb)
		b.WriteString(": ")
		b.WriteString(it.value)
	}
	b.WriteByte('}')
	return []byte(b.String())
}
