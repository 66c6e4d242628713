// Package validate implements `mobileone validate`: map an ONNX file back
// to a MobileOne model, run it in our engine and compare it with ONNX
// Runtime and/or the checkpoint it claims to come from (what timm's
// onnx_validate.py is for).
package validate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/onnx"
	"github.com/mobileone-go/mobileone/pkg/onnx/ort"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of validate.
type Options struct {
	IO                 *cmdutil.IOStreams
	File               string
	Config, Checkpoint string
	CfgOptions         []string
	ORT                string // auto, yes or no
	BatchSize, H, W    int
	Tolerance          float64
	Seed               uint64
}

// NewCmdValidate returns the validate command.
func NewCmdValidate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	var shape []int
	cmd := &cobra.Command{
		Use:   "validate FILE.onnx",
		Short: "Check an ONNX MobileOne file against ONNX Runtime and its checkpoint",
		Long: `Read an ONNX file (from mobileone export, or torch.onnx.export of mmpretrain's
or timm's MobileOne), map its graph back to a MobileOne deploy model (Conv blocks,
SE layers, pooling, fc; optional in-graph uint8 preprocessing and softmax),
print what it holds and run it in this program's engine on random inputs, then:

  - with --config and --checkpoint: compare with that checkpoint's model
    (fused on the fly if train-time) on the same inputs. This tells whether
    the file really is that checkpoint, including its normalization when the
    preprocessing is in the graph;
  - with ONNX Runtime (--ort auto|yes|no; auto uses it when found): run the
    file itself in ONNX Runtime (Node.js with onnxruntime-node; see make
    test-deps or $MOBILEONE_ORT_NODE) and compare. This tells whether the
    graph computes what its weights say.

Each comparison prints the largest absolute difference of the outputs
(logits, or scores for a file with softmax); beyond --tolerance the command
fails. A graph that is not a MobileOne classifier is an error naming the
first node that does not fit.`,
		Example: `  mobileone validate s0.onnx
  mobileone validate s0.onnx --config mobileone-s0_deploy_8xb32_in1k --checkpoint s0_deploy.pth
  mobileone validate s0_dynamic.onnx --shape 256 --batch-size 4 --ort yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			var err error
			if opts.H, opts.W, err = cmdutil.ParseShape(shape); err != nil {
				return err
			}
			if opts.H < 1 || opts.W < 1 || opts.BatchSize < 1 {
				return cmdutil.FlagErrorf("--shape and --batch-size must be positive")
			}
			if (opts.Config == "") != (opts.Checkpoint == "") {
				return cmdutil.FlagErrorf("--config and --checkpoint go together")
			}
			if !slices.Contains([]string{"auto", "yes", "no"}, opts.ORT) {
				return cmdutil.FlagErrorf("--ort takes auto, yes or no, got %q", opts.ORT)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Config, "config", "c", "", "config of the checkpoint to compare with")
	fl.StringVar(&opts.Checkpoint, "checkpoint", "", "checkpoint path or URL to compare with")
	fl.StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	fl.StringVar(&opts.ORT, "ort", "auto", "compare with ONNX Runtime: auto (when found), yes (required) or no")
	fl.IntVar(&opts.BatchSize, "batch-size", 2, "inputs per run (a fixed batch axis in the file wins)")
	fl.IntSliceVar(&shape, "shape", []int{224}, "input size H or H,W for symbolic axes")
	fl.Float64Var(&opts.Tolerance, "tolerance", 1e-4, "largest accepted |difference|")
	fl.Uint64Var(&opts.Seed, "seed", 0, "seed of the random inputs")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	im, err := onnx.ReadFile(opts.File)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "%s: MobileOne deploy graph, arch %s, %d classes, opset %d, producer %q\n",
		opts.File, im.ArchName, im.Model.NumClasses(), im.Opset, im.Producer)
	fmt.Fprintf(out, "  input  %s\n", im.InputDesc())
	if im.Preprocess {
		n := im.Normalizer
		fmt.Fprintf(out, "         preprocessing in the graph: to_rgb %v, mean %v, std %v\n", n.ToRGB, n.Mean, n.Std)
	}
	fmt.Fprintf(out, "  output %s\n", im.OutputDesc())
	if im.Classes != nil {
		fmt.Fprintf(out, "  classes %q ... (%d)\n", im.Classes[:min(3, len(im.Classes))], len(im.Classes))
	}
	n, h, w := im.InputSize(opts.BatchSize, opts.H, opts.W)
	x := im.RandomInput(n, h, w, opts.Seed)
	mine, err := im.Forward(x)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%d random inputs of %dx%d", n, h, w)
	var failed []string
	report := func(against string, got []float32) {
		d := onnx.MaxAbsDiff(mine.Data, got)
		verdict := "ok"
		if !(d <= opts.Tolerance) {
			verdict = "EXCEEDS --tolerance"
			failed = append(failed, against)
		}
		fmt.Fprintf(out, "our engine vs %s: max |diff| %.3g on %s (%s)\n", against, d, what, verdict)
	}
	compared := 0
	if opts.Checkpoint != "" {
		loaded, norm, _, err := setup.LoadDeploy(ctx, opts.Config, opts.CfgOptions, opts.Checkpoint, opts.IO.ErrOut, opts.IO.ErrOut)
		if err != nil {
			return err
		}
		if loaded.Model.NumClasses() != im.Model.NumClasses() {
			return fmt.Errorf("%s has %d classes, the checkpoint %s %d", opts.File, im.Model.NumClasses(), opts.Checkpoint, loaded.Model.NumClasses())
		}
		ref, err := onnx.RunModel(loaded.Model, norm, x, im.Softmax)
		if err != nil {
			return err
		}
		report("checkpoint "+opts.Checkpoint, ref.Data)
		compared++
	}
	if opts.ORT != "no" {
		rt, err := ort.Find()
		switch {
		case err == nil:
			res, err := rt.Run(ctx, opts.File, 0, x)
			if err != nil {
				return err
			}
			report("ONNX Runtime "+res.Version, res.Outputs[0].F32)
			compared++
		case opts.ORT == "yes" || !errors.Is(err, ort.ErrNotFound):
			return err
		default:
			fmt.Fprintf(opts.IO.ErrOut, "notice: not comparing with ONNX Runtime: %v\n", err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s: outputs differ beyond --tolerance %g from %v", opts.File, opts.Tolerance, failed)
	}
	if compared == 0 {
		fmt.Fprintln(out, "nothing to compare with: pass --config and --checkpoint, or install ONNX Runtime (make test-deps)")
	}
	return nil
}
