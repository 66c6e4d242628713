// Package reparameterize implements `mobileone reparameterize`, mmpretrain's
// tools/model_converters/reparameterize_model.py.
package reparameterize

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobileone-go/mobileone/internal/atomicfile"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/cmd/printconfig"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/setup"
)

// Options are the parsed arguments of reparameterize.
type Options struct {
	IO         *cmdutil.IOStreams
	Config     string
	Src, Dst   string
	CfgOptions []string
}

// NewCmdReparameterize returns the reparameterize command.
func NewCmdReparameterize(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "reparameterize CONFIG SRC DST",
		Short: "Fuse a train-time checkpoint's branches into the deploy model",
		Long: `Convert a train-time (multi-branch) checkpoint into the reparameterized deploy
model, as mmpretrain's tools/model_converters/reparameterize_model.py does: every
block's conv, scale and identity branches are fused into one conv with bias, the
checkpoint's "state_dict" is replaced by the deploy state dict and its other entries
(meta, class names) are kept. "ema_state_dict" is dropped (it holds train-time keys
that a deploy model cannot load), and so is anything that is not plain data.

SRC may be a path or an https:// URL. DST must end in .pth or .tar; it is written
atomically, and loads with torch.load (also weights_only=True) and into
mmpretrain with the deploy config.`,
		Example: `  mobileone reparameterize mobileone-s0_8xb32_in1k s0_train.pth s0_deploy.pth
  mobileone reparameterize configs/mobileone/mobileone-s1_8xb32_in1k.py \
      https://download.openmmlab.com/mmclassification/v0/mobileone/mobileone-s1_8xb32_in1k_20221110-ceeef467.pth s1_deploy.pth`,
		Args:              cobra.ExactArgs(3),
		ValidArgsFunction: printconfig.CompleteConfig, // CONFIG first, then files
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Config, opts.Src, opts.Dst = args[0], args[1], args[2]
			if ext := strings.ToLower(filepath.Ext(opts.Dst)); ext != ".pth" && ext != ".tar" {
				return cmdutil.FlagErrorf("DST %q must be a .pth or .tar file name", opts.Dst)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.CfgOptions, "cfg-options", nil, "override config settings: key=value (repeatable)")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	// DST is checked before anything is read: it must be writable and
	// must not be SRC (also through a symlink or a hard link), which would
	// replace the train-time checkpoint for good.
	if err := atomicfile.CheckFile(opts.Dst, opts.Src); err != nil {
		return err
	}
	_, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return err
	}
	loaded, err := setup.LoadModel(ctx, mc, opts.Src, opts.IO.ErrOut, opts.IO.ErrOut)
	var de *setup.DeployCheckpointError
	switch {
	case errors.As(err, &de):
		return fmt.Errorf("%s: this checkpoint is already reparameterized (it holds branch_reparam weights): there is nothing to convert; use it as it is with the deploy config", de.Path)
	case err != nil:
		return err
	case mc.Deploy && !loaded.Reparameterized:
		return fmt.Errorf("%s: this checkpoint is already reparameterized (it loads into the deploy config's model as it is): there is nothing to convert", loaded.Path)
	}
	if loaded.Path != opts.Src { // SRC given as a URL: DST must not be its cached file either
		if err := atomicfile.CheckFile(opts.Dst, loaded.Path); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", cmdutil.ErrCancel, err)
	}
	fmt.Fprintln(opts.IO.Out, "Converting...")
	loaded.Model.SwitchToDeploy()
	root, dropped := Output(loaded.File, checkpoint.FromEntries(loaded.Model.StateDict()))
	for _, d := range dropped {
		fmt.Fprintf(opts.IO.ErrOut, "notice: not copying %q from %s: %s\n", d.Key, loaded.Path, d.Why)
	}
	if dir := filepath.Dir(opts.Dst); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := checkpoint.SaveContext(ctx, opts.Dst, root); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %s was not written: %v", cmdutil.ErrCancel, opts.Dst, err)
		}
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Done! Save at path %q\n", opts.Dst)
	return nil
}

// Dropped is a top-level checkpoint entry that the output leaves out.
type Dropped struct{ Key, Why string }

// Output builds the converted checkpoint: the source's top-level entries in
// order with state_dict replaced by sd, ema_state_dict left out, and any
// entry that is not plain data (unknown Python classes, bytes, sets) left
// out. A bare state dict source gives {"state_dict": sd}.
func Output(src *checkpoint.File, sd *checkpoint.StateDict) (*checkpoint.Dict, []Dropped) {
	out := checkpoint.NewDict()
	var dropped []Dropped
	root, ok := src.Root.(*checkpoint.Dict)
	if ok {
		if _, has := root.Get("state_dict"); !has {
			root = nil // a bare state dict
		}
	} else {
		root = nil
	}
	if root == nil {
		out.Set("state_dict", sd.Dict())
		return out, nil
	}
	for _, it := range root.Items {
		key, _ := it.Key.(string)
		switch {
		case key == "state_dict":
			out.Set("state_dict", sd.Dict())
		case key == "ema_state_dict":
			dropped = append(dropped, Dropped{key, "its train-time keys do not fit the deploy model (mmpretrain's publish_model.py drops it too)"})
		case !plain(it.Value, 0):
			dropped = append(dropped, Dropped{fmt.Sprint(it.Key), "it holds Python objects that are not plain data"})
		default:
			out.Set(it.Key, it.Value)
		}
	}
	return out, dropped
}

// plain reports whether v is made only of values Save can write.
func plain(v any, depth int) bool {
	if depth > 100 {
		return false
	}
	switch x := v.(type) {
	case nil, string, bool, int, int64, int32, float64, float32, *big.Int, *checkpoint.Tensor, *checkpoint.StateDict:
		return true
	case checkpoint.List:
		for _, e := range x {
			if !plain(e, depth+1) {
				return false
			}
		}
		return true
	case checkpoint.Tuple:
		for _, e := range x {
			if !plain(e, depth+1) {
				return false
			}
		}
		return true
	case *checkpoint.Dict:
		for _, it := range x.Items {
			if !plain(it.Key, depth+1) || !plain(it.Value, depth+1) {
				return false
			}
		}
		return x.Attrs == nil || plain(x.Attrs, depth+1)
	default:
		return false
	}
}
