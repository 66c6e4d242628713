package train

import (
	"sort"
	"strconv"

	"github.com/mobileone-go/mobileone/pkg/imagenet"
)

// SwitchRecipeHook is mmpretrain's SwitchRecipeHook: at the start of the
// (1-based) epoch ActionEpoch of an entry it switches the train pipeline
// and/or the loss; on resume it replays the entries of the epochs already
// done.
type SwitchRecipeHook struct {
	BaseHook
	Entries []RecipeEntry
}

// RecipeEntry is one schedule entry.
type RecipeEntry struct {
	ActionEpoch   int
	TrainPipeline *imagenet.Pipeline // nil: unchanged
	Loss          Loss               // nil: unchanged
}

// NewSwitchRecipeHook sorts the entries by epoch; two entries for one
// epoch are an error.
func NewSwitchRecipeHook(entries []RecipeEntry) (*SwitchRecipeHook, error) {
	h := &SwitchRecipeHook{Entries: append([]RecipeEntry(nil), entries...)}
	sort.SliceStable(h.Entries, func(a, b int) bool { return h.Entries[a].ActionEpoch < h.Entries[b].ActionEpoch })
	for i := 1; i < len(h.Entries); i++ {
		if h.Entries[i].ActionEpoch == h.Entries[i-1].ActionEpoch {
			return nil, configErrorf("custom_hooks.SwitchRecipeHook.schedule", "the action_epoch %d is repeated", h.Entries[i].ActionEpoch)
		}
	}
	return h, nil
}

func (*SwitchRecipeHook) Name() string { return "SwitchRecipeHook" }

func (h *SwitchRecipeHook) apply(r *Runner, e RecipeEntry, extra string) {
	if e.TrainPipeline != nil {
		r.TrainPipe = e.TrainPipeline
		r.Infof("Switch train pipeline%s.", extra)
	}
	if e.Loss != nil {
		r.Loss = e.Loss
		r.Infof("Switch loss%s.", extra)
	}
}

// BeforeTrain replays, on resume, every entry with action_epoch <= epoch.
func (h *SwitchRecipeHook) BeforeTrain(r *Runner) error {
	if !r.Resumed {
		return nil
	}
	for _, e := range h.Entries {
		if e.ActionEpoch >= r.Epoch+1 {
			break
		}
		h.apply(r, e, " (resume recipe of epoch "+strconv.Itoa(e.ActionEpoch)+")")
	}
	return nil
}

// BeforeTrainEpoch applies the entry of the epoch about to start.
func (h *SwitchRecipeHook) BeforeTrainEpoch(r *Runner) error {
	for _, e := range h.Entries {
		if e.ActionEpoch == r.Epoch+1 {
			h.apply(r, e, " at epoch "+strconv.Itoa(e.ActionEpoch))
		}
	}
	return nil
}
