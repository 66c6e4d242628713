// Package convert implements `mobileone convert`: Apple ml-mobileone and
// timm MobileOne checkpoints to mmpretrain's, as mmpretrain's
// tools/model_converters/*_to_mmpretrain.py scripts do for other models.
package convert

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/model"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of convert.
type Options struct {
	IO         *cmdutil.IOStreams
	From       checkpoint.Format
	Src, Dst   string
	Config     string
	CfgOptions []string
}

// NewCmdConvert returns the convert command.
func NewCmdConvert(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	var from string
	cmd := &cobra.Command{
		Use:   "convert --from apple|timm SRC DST",
		Short: "Convert an Apple ml-mobileone or timm checkpoint to mmpretrain's format",
		Long: `Rename the keys of another MobileOne implementation's checkpoint to mmpretrain's
and save it as {"state_dict": ...}, so that it can be tested, fine-tuned and
reparameterized like any mmpretrain checkpoint:

  --from apple  Apple ml-mobileone .pth.tar files (mobileone_s0_unfused.pth.tar is
                the train-time model, mobileone_s0.pth.tar the fused one)
  --from timm   timm mobileone_s0..s4 state dicts (train-time, or after
                reparameterize(): reparam_conv)

The key maps are listed in pkg/checkpoint/keymaps.go. An unfused source gives a
train-time checkpoint (use the mobileone-sN_8xb32_in1k config), a fused one a
deploy checkpoint (mobileone-sN_deploy_8xb32_in1k). The result is checked to
load strictly into a model: the --config one when given (needed for a custom
arch), else a built-in arch, which is printed. DST must end in .pth; it is
written atomically. (Note: infer, test and reparameterize also read these
formats directly; convert makes a file mmpretrain itself loads.)`,
		Example: `  mobileone convert --from apple mobileone_s0_unfused.pth.tar s0_train.pth
  mobileone convert --from apple mobileone_s4.pth.tar s4_deploy.pth
  mobileone convert --from timm mobileone_s1_timm.pth s1_train.pth
  mobileone convert --from timm my_model.pth mine.pth --config my_config.py`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Src, opts.Dst = args[0], args[1]
			switch from {
			case "apple":
				opts.From = checkpoint.FormatApple
			case "timm":
				opts.From = checkpoint.FormatTimm
			case "":
				return cmdutil.FlagErrorf("--from is required: apple or timm")
			default:
				return cmdutil.FlagErrorf("--from takes apple or timm, got %q", from)
			}
			if strings.ToLower(filepath.Ext(opts.Dst)) != ".pth" {
				return cmdutil.FlagErrorf("DST %q must be a .pth file name", opts.Dst)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the source's naming: apple or timm (required)")
	cmd.Flags().StringVarP(&opts.Config, "config", "c", "", "config whose model the result must load into (default: find a built-in arch)")
	cmd.Flags().StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	var mc *model.Config
	if opts.Config != "" {
		_, c, err := setup.Load(opts.Config, opts.CfgOptions)
		if err != nil {
			return err
		}
		mc = &c
	}
	fmt.Fprintln(opts.IO.Out, "Converting...")
	conv, err := setup.Convert(ctx, opts.Src, opts.From, mc, opts.IO.ErrOut)
	if err != nil {
		return err
	}
	graph := "train-time (multi-branch)"
	if conv.Deploy {
		graph = "deploy (reparameterized)"
	}
	switch {
	case opts.Config != "":
		fmt.Fprintf(opts.IO.Out, "%d %s keys, %s model, %d classes; loads into %s\n", len(conv.StateDict.Keys), opts.From, graph, conv.NumClasses, opts.Config)
	case conv.Config != "":
		fmt.Fprintf(opts.IO.Out, "%d %s keys, %s model, %d classes; loads into %s (with model.head.num_classes=%d)\n", len(conv.StateDict.Keys), opts.From, graph, conv.NumClasses, conv.Config, conv.NumClasses)
	default:
		fmt.Fprintf(opts.IO.ErrOut, "warning: %s is not one of the built-in archs s0..s4; give its config with --config to check that it loads\n", conv.Path)
	}
	if dir := filepath.Dir(opts.Dst); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	root := checkpoint.NewDict()
	root.Set("state_dict", conv.StateDict.Dict())
	if err := checkpoint.Save(opts.Dst, root); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Done! Save at path %q\n", opts.Dst)
	return nil
}
