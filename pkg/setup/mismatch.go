package setup

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// DeployCheckpointError reports a reparameterized (deploy) checkpoint given
// with a config that builds the train-time graph.
type DeployCheckpointError struct{ Path string }

func (e *DeployCheckpointError) Error() string {
	return fmt.Sprintf("%s holds a reparameterized (deploy) model but the config builds the train-time graph: use the deploy variant of the config (mobileone-sN_deploy_8xb32_in1k for the built-in ones) or set model.backbone.deploy=True", e.Path)
}

// MismatchError explains a checkpoint that does not fit the config's
// model: another class count, or another architecture.
type MismatchError struct {
	Path string
	Msg  string
	Err  *checkpoint.LoadError
}

func (e *MismatchError) Error() string { return e.Path + ": " + e.Msg }
func (e *MismatchError) Unwrap() error { return e.Err }

// explainMismatch names the real cause of a strict-load failure: when only
// the head's class dimension differs, the two class counts; otherwise that
// the architectures differ, which keys and shapes, and the built-in arch
// the checkpoint fits, if any.
func explainMismatch(err error, path string, cfg model.Config, sd *checkpoint.StateDict) error {
	var le *checkpoint.LoadError
	if !errors.As(err, &le) {
		return fmt.Errorf("%s: %w", path, err)
	}
	headOnly := len(le.Missing) == 0 && len(le.Unexpected) == 0 && len(le.Mismatched) > 0
	fileClasses, headKey, headShape := 0, "", []int(nil)
	for _, m := range le.Mismatched {
		isHead := (m.Key == "head.fc.weight" || m.Key == "head.fc.bias") && len(m.File) > 0 && len(m.Model) == len(m.File) &&
			m.File[0] != m.Model[0] && slices.Equal(m.File[1:], m.Model[1:])
		headOnly = headOnly && isHead
		if isHead && headKey == "" {
			fileClasses, headKey, headShape = m.File[0], m.Key, m.File
		}
	}
	if headOnly {
		return &MismatchError{Path: path, Err: le, Msg: fmt.Sprintf("has %d classes (%s %v) but the config's model has %d (model.head.num_classes); set --cfg-options model.head.num_classes=%d or use the matching checkpoint",
			fileClasses, headKey, headShape, cfg.NumClasses, fileClasses)}
	}
	var b strings.Builder
	b.WriteString("the checkpoint's architecture differs from the config's model")
	if name := matchingArch(sd, cfg); name != "" {
		fmt.Fprintf(&b, " (the checkpoint fits arch %q; use the config of that arch)", name)
	}
	// Examples: the first mismatch and the head's (which tells the
	// width of the last stage).
	var diffs []string
	for i, m := range le.Mismatched {
		if i == 0 || m.Key == "head.fc.weight" {
			diffs = append(diffs, fmt.Sprintf("%s is %v in the checkpoint, %v in the model", m.Key, m.File, m.Model))
		}
	}
	if len(diffs) > 0 {
		fmt.Fprintf(&b, ": %d tensors differ in shape (%s)", len(le.Mismatched), strings.Join(diffs, "; "))
	}
	if n := len(le.Unexpected); n > 0 {
		fmt.Fprintf(&b, "; the checkpoint has %d keys the model lacks (%s)", n, strings.Join(le.Unexpected[:min(2, n)], ", "))
	}
	if n := len(le.Missing); n > 0 {
		fmt.Fprintf(&b, "; the model has %d keys the checkpoint lacks (%s)", n, strings.Join(le.Missing[:min(2, n)], ", "))
	}
	return &MismatchError{Path: path, Err: le, Msg: b.String()}
}

// matchingArch returns the built-in arch whose model (the config's graph
// and class count) has exactly the checkpoint's keys and shapes, or "".
func matchingArch(sd *checkpoint.StateDict, cfg model.Config) string {
	for _, name := range model.ArchNames() {
		c := cfg
		c.Arch = model.ArchZoo[name]
		c.InChannels = 0
		m, err := model.New(c)
		if err != nil {
			continue
		}
		if checkpoint.Apply(m.StateDict(), sd) == nil {
			return name
		}
	}
	return ""
}
