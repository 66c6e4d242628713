package setup

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// Converted is another implementation's MobileOne checkpoint under
// mmpretrain's key names.
type Converted struct {
	Path       string // local path of the source
	StateDict  *checkpoint.StateDict
	Deploy     bool   // the source holds the fused (reparameterized) model
	Config     string // the built-in config it loads into, "" when it is a custom arch
	NumClasses int
}

// Convert reads src (a path or URL) whose keys follow from's naming
// (checkpoint.FormatApple or checkpoint.FormatTimm, see
// pkg/checkpoint/keymaps.go), maps them to mmpretrain's names and checks
// that they load strictly into a model: the one of cfg when given (its
// train-time or deploy graph, whichever the weights are), else one of the
// built-in archs. A custom arch without cfg is reported with Config "".
func Convert(ctx context.Context, src string, from checkpoint.Format, cfg *model.Config, progress io.Writer) (*Converted, error) {
	local, err := checkpoint.Resolve(ctx, src, progress)
	if err != nil {
		return nil, err
	}
	f, err := checkpoint.Load(local)
	if err != nil {
		return nil, err
	}
	got, err := f.SourceFormat()
	if err != nil {
		return nil, err
	}
	if got != from {
		return nil, fmt.Errorf("%s: the keys follow %s's naming, not %s's (try --from %s)", local, got, from, got)
	}
	sd, err := f.StateDict()
	if err != nil {
		return nil, err
	}
	c := &Converted{Path: local, StateDict: sd}
	for _, k := range sd.Keys {
		c.Deploy = c.Deploy || strings.Contains(k, ".branch_reparam.")
	}
	fc, ok := sd.Tensors["head.fc.weight"]
	if !ok || len(fc.Shape) != 2 {
		return nil, fmt.Errorf("%s: no classifier weight (head.fc.weight after mapping)", local)
	}
	c.NumClasses = fc.Shape[0]
	if cfg != nil {
		mc := *cfg
		mc.Deploy = c.Deploy
		if mc.NumClasses == 0 {
			mc.NumClasses = c.NumClasses
		}
		m, err := model.New(mc)
		if err == nil {
			err = checkpoint.Apply(m.StateDict(), sd)
		}
		if err != nil {
			return nil, fmt.Errorf("%s does not load into the config's model: %w", local, err)
		}
		return c, nil
	}
	if name := matchingArch(sd, model.Config{Deploy: c.Deploy, NumClasses: c.NumClasses}); name != "" {
		c.Config = "mobileone-" + name + "_8xb32_in1k"
		if c.Deploy {
			c.Config = "mobileone-" + name + "_deploy_8xb32_in1k"
		}
	}
	return c, nil
}
