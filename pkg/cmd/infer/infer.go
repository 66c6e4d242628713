// Package infer implements `mobileone infer`, what mmpretrain's
// demo/image_demo.py and ImageClassificationInferencer do.
package infer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/predict"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// DefaultConfig is the config infer uses when --config is not given.
const DefaultConfig = "mobileone-s0_8xb32_in1k"

// Options are the parsed arguments of infer.
type Options struct {
	IO         *cmdutil.IOStreams
	Images     []string
	Config     string
	Checkpoint string
	CfgOptions []string
	TopK       int
	JSON       bool
	BatchSize  int
}

// NewCmdInfer returns the infer command.
func NewCmdInfer(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "infer IMAGE...",
		Short: "Classify images with a MobileOne checkpoint",
		Long: `Classify images as mmpretrain's ImageClassificationInferencer does: decode like
OpenCV, apply the config's test pipeline (ResizeEdge 256 with Pillow's bilinear filter,
CenterCrop 224), normalize, run the model and print the best classes.

Without --checkpoint the official mmpretrain checkpoint of the config is
downloaded once into the torch hub cache ($TORCH_HOME/hub/checkpoints, default
~/.cache/torch/hub/checkpoints). A train-time checkpoint with a deploy config is
reparameterized on load.`,
		Example: `  mobileone infer demo.JPEG
  mobileone infer cat.png dog.jpg --config mobileone-s0_deploy_8xb32_in1k --checkpoint s0_deploy.pth
  mobileone infer photo.jpg --config my_config.py --checkpoint work_dirs/my_config/epoch_10.pth --topk 3 --json`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			if opts.TopK < 1 {
				return cmdutil.FlagErrorf("--topk must be at least 1, got %d", opts.TopK)
			}
			if opts.BatchSize < 1 {
				return cmdutil.FlagErrorf("--batch-size must be at least 1, got %d", opts.BatchSize)
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
	cmd.Flags().StringVarP(&opts.Config, "config", "c", DefaultConfig, "config file or built-in config name")
	cmd.Flags().StringVar(&opts.Checkpoint, "checkpoint", "", "checkpoint path or URL (default: the official checkpoint of the config)")
	cmd.Flags().StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	cmd.Flags().IntVarP(&opts.TopK, "topk", "k", 5, "how many of the best classes to print")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array of results")
	cmd.Flags().IntVar(&opts.BatchSize, "batch-size", 8, "images per forward pass")
	_ = cmd.RegisterFlagCompletionFunc("config", func(c *cobra.Command, a []string, s string) ([]string, cobra.ShellCompDirective) {
		return printconfig.CompleteConfig(c, nil, s)
	})
	return cmd
}

// Result is one image's prediction; its JSON form is infer --json's.
type Result = predict.Result

// Class is one entry of a top-K list.
type Class = predict.Class

func run(ctx context.Context, opts *Options) error {
	cfg, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	ckpt := opts.Checkpoint
	if ckpt == "" {
		if ckpt = setup.OfficialCheckpoint(opts.Config); ckpt == "" {
			return cmdutil.FlagErrorf("no official checkpoint is known for config %s: pass one with --checkpoint", opts.Config)
		}
	}
	pipe, err := setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
	if err != nil {
		return err
	}
	norm, err := setup.Normalizer(cfg)
	if err != nil {
		return err
	}
	loaded, err := setup.LoadModel(ctx, mc, ckpt, opts.IO.ErrOut, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	results, err := Predict(ctx, loaded.Model.NewPredictor(), pipe, norm, loaded.Classes, opts.Images, opts.TopK, opts.BatchSize)
	if err != nil {
		return err
	}
	if opts.JSON {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, string(b))
		return nil
	}
	for _, r := range results {
		fmt.Fprintf(opts.IO.Out, "%s\n  pred_label: %d\n  pred_score: %s\n  pred_class: %s\n  top-%d:\n",
			r.Image, r.PredLabel, fmtScore(r.PredScore), r.PredClass, len(r.TopK))
		for i, c := range r.TopK {
			fmt.Fprintf(opts.IO.Out, "    %d. %-8s %-10s %s\n", i+1, fmt.Sprint(c.Label), fmtScore(c.Score), c.Class)
		}
	}
	return nil
}

func fmtScore(s float32) string { return fmt.Sprintf("%.6f", s) }

// Predict decodes, preprocesses and classifies images in batches of up to
// batchSize, returning the top-K classes of each in input order. Images
// whose preprocessed size differs from their neighbours' run in their own
// pass. Errors name the image.
func Predict(ctx context.Context, m *model.Predictor, pipe *imagenet.Pipeline, norm imagenet.Normalizer, classes []string, images []string, topK, batchSize int) ([]Result, error) {
	results := make([]Result, 0, len(images))
	for lo := 0; lo < len(images); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: %v", cmdutil.ErrCancel, err)
		}
		var batch []predict.Input
		for _, path := range images[lo:min(lo+batchSize, len(images))] {
			img, err := imagenet.DecodeFile(path)
			if err != nil {
				return nil, err
			}
			in, err := predict.Preprocess(path, img, pipe, norm)
			if err != nil {
				return nil, err
			}
			batch = append(batch, in)
		}
		scores, err := predict.Scores(m, batch)
		if err != nil {
			return nil, err
		}
		for i, in := range batch {
			results = append(results, predict.Rank(in.Name, scores[i], classes, topK))
		}
	}
	return results, nil
}
