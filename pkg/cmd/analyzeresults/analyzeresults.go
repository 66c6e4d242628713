// Package analyzeresults implements `mobileone analyze-results`, mmpretrain's
// tools/analysis_tools/analyze_results.py: success and failure galleries
// of a test results file.
package analyzeresults

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/analysis/results"
	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/evaluate"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of analyze-results.
type Options struct {
	IO            *cmdutil.IOStreams
	Config        string
	Result        string
	OutDir        string
	TopK          int
	RescaleFactor float64
	CfgOptions    []string
}

// NewCmdAnalyzeResults returns the analyze-results command.
func NewCmdAnalyzeResults(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "analyze-results CONFIG RESULT.pkl|RESULT.json --out-dir DIR",
		Short: "Write galleries of the successes and failures of a test results file",
		Long: `Draw the samples of a test results file (test --out RESULT.pkl, written by
mobileone or by mmpretrain's tools/test.py) as analyze_results.py does. The
samples (RESULT.json: as mobileone test --out writes JSON) are sorted by their highest score, lowest first, and split into
successes (prediction = ground truth) and failures; the first --topk of each,
the ones the model was least sure of, are drawn: each image of the config's
test dataset (found by the sample's sample_idx) with "Ground truth: label
(class)" and "Prediction: label, score (class)" on it, saved as
DIR/success/<image file name>.png and DIR/fail/<image file name>.png, with
DIR/success/success.json and DIR/fail/fail.json listing the samples' labels
and scores. --rescale-factor resizes the images first (Pillow's bilinear
filter; useful for small images, whose text is drawn in proportion to them).`,
		Example: `  mobileone test testdata/demo/fmnist_demo_deploy.py testdata/demo/fmnist_demo_deploy.pth --out preds.pkl
  mobileone analyze-results testdata/demo/fmnist_demo_deploy.py preds.pkl --out-dir gallery --topk 10 --rescale-factor 8`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: printconfig.CompleteConfig, // CONFIG first, then files
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Result = args[0], args[1]
			if opts.OutDir == "" {
				return cmdutil.FlagErrorf("--out-dir is required")
			}
			if opts.TopK < 0 {
				return cmdutil.FlagErrorf("--topk must not be negative, got %d", opts.TopK)
			}
			if cmd.Flags().Changed("rescale-factor") && !(opts.RescaleFactor > 0) {
				return cmdutil.FlagErrorf("--rescale-factor must be positive, got %g", opts.RescaleFactor)
			}
			if ext := strings.ToLower(filepath.Ext(opts.Result)); ext != ".pkl" && ext != ".pickle" && ext != ".json" {
				return cmdutil.FlagErrorf("RESULT %q: give the .pkl (or .json) results file of test --out", opts.Result)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.OutDir, "out-dir", "", "folder to write the success/ and fail/ galleries into")
	fl.IntVar(&opts.TopK, "topk", 20, "number of images to select for success/fail")
	fl.Float64VarP(&opts.RescaleFactor, "rescale-factor", "r", 0, "image rescale factor, for images too large or too small")
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	return cmd
}

func run(opts *Options) error {
	cfg, _, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	ds, err := setup.Dataset(cfg, "test_dataloader.dataset", "")
	if err != nil {
		return err
	}
	preds, err := evaluate.LoadResults(opts.Result)
	if err != nil {
		return err
	}
	success, fail, err := results.Select(preds, opts.TopK)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Result, err)
	}
	g := &results.Gallery{Dir: opts.OutDir, Samples: ds.Samples, Classes: setup.ClassNames(ds), RescaleFactor: opts.RescaleFactor}
	for _, part := range []struct {
		name  string
		preds []evaluate.Prediction
	}{{"success", success}, {"fail", fail}} {
		files, err := g.WriteGallery(part.name, part.preds)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "%s: %d images in %s\n", part.name, len(files), filepath.Join(opts.OutDir, part.name))
	}
	return nil
}
