package train

import (
	"fmt"
	"sort"
)

// SwitchRecipe is mmpretrain's SwitchRecipeHook: at the start of the
// (1-based) epoch action_epoch it switches the train pipeline and/or the
// loss. Entries may carry other keys; upstream keeps but never reads them
// (the MobileOne s1–s4 configs use "pipeline", so their schedule does
// nothing): they are reported through warn and ignored, as upstream.
type SwitchRecipe struct {
	Entries []RecipeEntry
}

// RecipeEntry is one schedule entry.
type RecipeEntry struct {
	ActionEpoch   int
	TrainPipeline []map[string]any // nil: unchanged
	Loss          map[string]any   // nil: unchanged
}

// NewSwitchRecipe parses the hook's schedule list.
func NewSwitchRecipe(schedule any, warn func(string)) (*SwitchRecipe, error) {
	sr := &SwitchRecipe{}
	seen := map[int]bool{}
	for i, e := range dictList(schedule) {
		key := fmt.Sprintf("SwitchRecipeHook.schedule.%d", i)
		ae, ok := toFloat(e["action_epoch"])
		if !ok {
			return nil, configErrorf(key+".action_epoch", "missing")
		}
		ent := RecipeEntry{ActionEpoch: int(ae)}
		if seen[ent.ActionEpoch] {
			return nil, configErrorf(key+".action_epoch", "epoch %d is listed twice", ent.ActionEpoch)
		}
		seen[ent.ActionEpoch] = true
		var ignored []string
		for k, v := range e {
			switch k {
			case "action_epoch":
			case "train_pipeline":
				ent.TrainPipeline = dictList(v)
			case "loss":
				ent.Loss, _ = v.(map[string]any)
			case "batch_augments":
				if v != nil {
					return nil, configErrorf(key+".batch_augments", "batch augments are not supported")
				}
			default:
				ignored = append(ignored, k)
			}
		}
		sort.Strings(ignored)
		for _, k := range ignored {
			warn(fmt.Sprintf("SwitchRecipeHook: the schedule entry for epoch %d has the key %q, which the hook ignores (it reads train_pipeline, batch_augments and loss); as upstream, nothing is switched for it", ent.ActionEpoch, k))
		}
		sr.Entries = append(sr.Entries, ent)
	}
	sort.Slice(sr.Entries, func(a, b int) bool { return sr.Entries[a].ActionEpoch < sr.Entries[b].ActionEpoch })
	return sr, nil
}

func (sr *SwitchRecipe) apply(e RecipeEntry, r *runner) error {
	if e.TrainPipeline != nil {
		steps := make([]any, len(e.TrainPipeline))
		for i, s := range e.TrainPipeline {
			steps[i] = s
		}
		p, err := r.pipeline(steps, fmt.Sprintf("SwitchRecipeHook epoch %d train_pipeline", e.ActionEpoch))
		if err != nil {
			return err
		}
		r.trainPipe = p
		r.infof("Switch train pipeline at epoch %d.", e.ActionEpoch)
	}
	if e.Loss != nil {
		l, err := NewLoss(e.Loss)
		if err != nil {
			return err
		}
		r.loss = l
		r.infof("Switch loss at epoch %d.", e.ActionEpoch)
	}
	return nil
}

// BeforeEpoch applies the entry for the epoch about to start (epoch is
// 0-based; entries are 1-based).
func (sr *SwitchRecipe) BeforeEpoch(epoch int, r *runner) error {
	for _, e := range sr.Entries {
		if e.ActionEpoch == epoch+1 {
			return sr.apply(e, r)
		}
	}
	return nil
}

// Replay applies, on resume, every entry with action_epoch < epoch+1.
func (sr *SwitchRecipe) Replay(epoch int, r *runner) error {
	for _, e := range sr.Entries {
		if e.ActionEpoch < epoch+1 {
			if err := sr.apply(e, r); err != nil {
				return err
			}
		}
	}
	return nil
}
