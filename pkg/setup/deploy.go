package setup

import (
	"context"
	"fmt"
	"io"

	"github.com/mobileone-go/mobileone/pkg/config"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// LoadDeploy loads a config and a checkpoint for a deploy consumer (ONNX
// export and validation): the model as LoadModel loads it, reparameterized
// when it is still the train-time graph (with a notice on notices), and the
// config's data_preprocessor.
func LoadDeploy(ctx context.Context, nameOrPath string, cfgOptions []string, ckpt string, progress, notices io.Writer) (*Loaded, imagenet.Normalizer, *config.Config, error) {
	cfg, mc, err := Load(nameOrPath, cfgOptions)
	if err != nil {
		return nil, imagenet.Normalizer{}, nil, err
	}
	norm, err := Normalizer(cfg)
	if err != nil {
		return nil, norm, nil, err
	}
	loaded, err := LoadModel(ctx, mc, ckpt, progress, notices)
	if err != nil {
		return nil, norm, nil, err
	}
	if !loaded.Model.Deployed() {
		loaded.Model.SwitchToDeploy()
		loaded.Reparameterized = true
		fmt.Fprintf(notices, "notice: %s holds the train-time (multi-branch) model; reparameterized it\n", loaded.Path)
	}
	return loaded, norm, cfg, nil
}
