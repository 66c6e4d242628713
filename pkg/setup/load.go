package setup

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// OfficialURL is where mmpretrain publishes the checkpoint of each MobileOne
// config (configs/mobileone/metafile.yml). The deploy configs share their
// train config's checkpoint: it is reparameterized when loaded.
var OfficialURL = map[string]string{
	"mobileone-s0_8xb32_in1k": "https://download.openmmlab.com/mmclassification/v0/mobileone/mobileone-s0_8xb32_in1k_20221110-0bc94952.pth",
	"mobileone-s1_8xb32_in1k": "https://download.openmmlab.com/mmclassification/v0/mobileone/mobileone-s1_8xb32_in1k_20221110-ceeef467.pth",
	"mobileone-s2_8xb32_in1k": "https://download.openmmlab.com/mmclassification/v0/mobileone/mobileone-s2_8xb32_in1k_20221110-9c7ecb97.pth",
	"mobileone-s3_8xb32_in1k": "https://download.openmmlab.com/mmclassification/v0/mobileone/mobileone-s3_8xb32_in1k_20221110-c95eb3bf.pth",
	"mobileone-s4_8xb32_in1k": "https://download.openmmlab.com/mmclassification/v0/mobileone/mobileone-s4_8xb32_in1k_20221110-28d888cb.pth",
}

// OfficialCheckpoint returns the published checkpoint URL for a config
// name or path ("mobileone-s0_deploy_8xb32_in1k" maps to the s0 one), or "".
func OfficialCheckpoint(configName string) string {
	stem := strings.TrimSuffix(path.Base(configName), ".py")
	stem = strings.Replace(stem, "_deploy_", "_", 1)
	return OfficialURL[stem]
}

// Loaded is a model with the checkpoint it was loaded from.
type Loaded struct {
	Model   *model.ImageClassifier
	File    *checkpoint.File
	Path    string   // local path of the checkpoint file
	Classes []string // one name per class
	// Reparameterized reports that a train-time checkpoint was fused on
	// load because the config asked for the deploy graph.
	Reparameterized bool
}

// LoadModel resolves ckpt (a path or an http(s) URL, downloaded once into
// the torch hub cache with a progress bar on progress), builds the model
// of cfg and loads the checkpoint's state_dict into it strictly. A
// train-time checkpoint given with a deploy config is loaded into the
// train-time graph and reparameterized, with a notice on notices; a deploy
// checkpoint with a train config is an error that names the fix.
func LoadModel(ctx context.Context, cfg model.Config, ckpt string, progress, notices io.Writer) (*Loaded, error) {
	local, err := checkpoint.Resolve(ctx, ckpt, progress)
	if err != nil {
		return nil, err
	}
	f, err := checkpoint.Load(local)
	if err != nil {
		return nil, err
	}
	sd, err := f.StateDict()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", local, err)
	}
	hasTrain, hasDeploy := false, false
	for _, k := range sd.Keys {
		hasDeploy = hasDeploy || strings.Contains(k, ".branch_reparam.")
		hasTrain = hasTrain || strings.Contains(k, ".branch_conv_list.") || strings.Contains(k, ".branch_scale.") || strings.Contains(k, ".branch_norm.")
	}
	build := cfg
	reparam := false
	switch {
	case cfg.Deploy && hasTrain && !hasDeploy:
		build.Deploy, reparam = false, true
	case !cfg.Deploy && hasDeploy && !hasTrain:
		return nil, &DeployCheckpointError{Path: local}
	}
	m, err := model.New(build)
	if err != nil {
		return nil, err
	}
	if err := checkpoint.Apply(m.StateDict(), sd); err != nil {
		return nil, explainMismatch(err, local, build, sd)
	}
	if reparam {
		m.SwitchToDeploy()
		fmt.Fprintf(notices, "notice: %s holds the train-time (multi-branch) model; reparameterized it for the deploy config\n", local)
	}
	l := &Loaded{Model: m, File: f, Path: local, Reparameterized: reparam}
	l.Classes = f.Classes()
	switch {
	case l.Classes != nil && len(l.Classes) != cfg.NumClasses:
		fmt.Fprintf(notices, "warning: %s lists %d class names but the model has %d classes; using class indices\n", local, len(l.Classes), cfg.NumClasses)
		l.Classes = IndexClasses(cfg.NumClasses)
	case l.Classes == nil && cfg.NumClasses == 1000:
		l.Classes = ImageNetClasses()
	case l.Classes == nil:
		l.Classes = IndexClasses(cfg.NumClasses)
	}
	return l, nil
}

// IndexClasses names classes by their index ("0", "1", ...).
func IndexClasses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out
}
