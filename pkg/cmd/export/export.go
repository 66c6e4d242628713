// Package export implements `mobileone export`: the deploy graph of a
// checkpoint as an ONNX model (what mmdeploy's and timm's onnx_export.py do
// for MobileOne).
package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/onnx"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of export.
type Options struct {
	IO                   *cmdutil.IOStreams
	Config, Checkpoint   string
	Out                  string
	CfgOptions           []string
	H, W                 int
	DynamicShape         bool
	StaticBatch          bool
	Opset                int
	Softmax, WithPreproc bool
	Version              string
}

// NewCmdExport returns the export command.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Version: f.Version}
	var shape []int
	cmd := &cobra.Command{
		Use:   "export CONFIG CHECKPOINT OUT.onnx",
		Short: "Write the reparameterized model as an ONNX file",
		Long: fmt.Sprintf(`Write the deploy (reparameterized) graph of a checkpoint as an ONNX model. A
train-time checkpoint is fused on the fly, as infer does. The file is written
atomically; afterwards it is read back, mapped to the model again and run on a
random input, and the largest logit difference is printed.

Graph: per MobileOneBlock a Conv with bias (the fused branch_reparam), the SE
layer where the arch has one (GlobalAveragePool, Conv, Relu, Conv, Sigmoid,
Mul), Relu; then GlobalAveragePool, Flatten, Gemm (head.fc). Initializers
are named after the checkpoint keys. Operators are in the default domain at
--opset (%d..%d, IR version of that opset's ONNX release).

Input:
  %-7s float32 [%s, 3, H, W]: the image normalized as the config's
          data_preprocessor does ((x - mean) / std, RGB order when to_rgb).
  with --with-preprocess instead:
  %-7s uint8 [%s, H, W, 3]: BGR pixels as decoded (OpenCV order, HWC),
          already resized and cropped (the test pipeline's ResizeEdge and
          CenterCrop stay outside the graph); the graph casts, reverses the
          channels when to_rgb, subtracts mean and divides by std.
Output:
  %-7s float32 [%s, num_classes]
  %-7s float32 [%s, num_classes], the softmax of the logits (--softmax)

H and W are --shape (default 224, the built-in configs' crop size). The batch
axis is symbolic ("%s") unless --static-batch (then 1); --dynamic-shape
makes H and W symbolic too ("%s", "%s").

Metadata (metadata_props): %q the JSON list of class names (from the
checkpoint's meta, ImageNet's for 1000 classes, else indices); %q, %q,
%q the data_preprocessor; %q "none" or "in_graph"; %q the backbone arch.`,
			onnx.MinOpset, onnx.MaxOpset, onnx.InputName, onnx.BatchDim, onnx.ImageName, onnx.BatchDim,
			onnx.LogitsName, onnx.BatchDim, onnx.ScoresName, onnx.BatchDim, onnx.BatchDim, onnx.HeightDim, onnx.WidthDim,
			onnx.MetaClasses, onnx.MetaMean, onnx.MetaStd, onnx.MetaToRGB, onnx.MetaPreprocess, onnx.MetaArch),
		Example: `  mobileone export mobileone-s0_deploy_8xb32_in1k s0_deploy.pth s0.onnx
  mobileone export mobileone-s0_8xb32_in1k mobileone-s0_8xb32_in1k_20221110-0bc94952.pth s0.onnx --opset 17
  mobileone export mobileone-s1_deploy_8xb32_in1k s1_deploy.pth s1_raw.onnx --with-preprocess --softmax --dynamic-shape
  mobileone validate s0.onnx --config mobileone-s0_deploy_8xb32_in1k --checkpoint s0_deploy.pth`,
		Args: cobra.ExactArgs(3),
		ValidArgsFunction: func(c *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return printconfig.CompleteConfig(c, args, s)
			}
			return nil, cobra.ShellCompDirectiveDefault
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Checkpoint, opts.Out = args[0], args[1], args[2]
			var err error
			if opts.H, opts.W, err = cmdutil.ParseShape(shape); err != nil {
				return err
			}
			if opts.H < 1 || opts.W < 1 {
				return cmdutil.FlagErrorf("--shape must be positive, got %dx%d", opts.H, opts.W)
			}
			if opts.Opset < onnx.MinOpset || opts.Opset > onnx.MaxOpset {
				return cmdutil.FlagErrorf("--opset %d is not supported: use %d..%d", opts.Opset, onnx.MinOpset, onnx.MaxOpset)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.IntSliceVar(&shape, "shape", []int{224}, "input size H or H,W")
	fl.BoolVar(&opts.DynamicShape, "dynamic-shape", false, "symbolic height and width axes")
	fl.BoolVar(&opts.StaticBatch, "static-batch", false, "fixed batch size 1 instead of a symbolic batch axis")
	fl.IntVar(&opts.Opset, "opset", onnx.DefaultOpset, fmt.Sprintf("ONNX opset (%d..%d)", onnx.MinOpset, onnx.MaxOpset))
	fl.BoolVar(&opts.Softmax, "softmax", false, "output softmax scores instead of logits")
	fl.BoolVar(&opts.WithPreproc, "with-preprocess", false, "take uint8 BGR HWC pixels and normalize inside the graph")
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	loaded, norm, cfg, err := setup.LoadDeploy(ctx, opts.Config, opts.CfgOptions, opts.Checkpoint, opts.IO.ErrOut, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	m := loaded.Model
	mp, err := onnx.Export(m, onnx.Options{
		Opset: opts.Opset, Height: opts.H, Width: opts.W, StaticBatch: opts.StaticBatch, DynamicShape: opts.DynamicShape,
		Softmax: opts.Softmax, Preprocess: opts.WithPreproc, Normalizer: norm, Classes: loaded.Classes,
		Producer: opts.Version, DocString: fmt.Sprintf("MobileOne deploy graph of %s (config %s)", filepath.Base(loaded.Path), cfg.Filename),
	})
	if err != nil {
		return err
	}
	if dir := filepath.Dir(opts.Out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := onnx.WriteFile(opts.Out, mp); err != nil {
		return err
	}
	// Read the file back and check it maps to the same model.
	back, err := onnx.ReadFile(opts.Out)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", opts.Out, err)
	}
	diff, err := onnx.CompareModels(back.Model, m, 1, opts.H, opts.W, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Saved %s: opset %d, input %s, output %s, %d classes; read back, max |logit diff| vs the checkpoint: %.3g\n",
		opts.Out, opts.Opset, back.InputDesc(), back.OutputDesc(), m.NumClasses(), diff)
	return nil
}
