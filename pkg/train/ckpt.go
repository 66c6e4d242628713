package train

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mobileone-go/mobileone/internal/atomicfile"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// mmengineVersion is written into meta.mmengine_version: the upstream
// version these checkpoints follow.
const mmengineVersion = "0.11.0rc0"

// checkpointDict builds what mmengine's Runner.save_checkpoint writes, after
// the EMAHook's before_save_checkpoint: meta, state_dict (EMA weights when
// the EMAHook is on), message_hub (empty), optimizer, param_schedulers and
// ema_state_dict ("steps" + raw weights under "module.").
func (r *runner) checkpointDict(byEpoch bool) *checkpoint.Dict {
	meta := checkpoint.NewDict()
	if byEpoch {
		meta.Set("epoch", int64(r.epoch+1))
		meta.Set("iter", int64(r.iter))
	} else {
		meta.Set("epoch", int64(r.epoch))
		meta.Set("iter", int64(r.iter))
	}
	meta.Set("cfg", r.opts.Config.PrettyText())
	meta.Set("seed", r.seed)
	meta.Set("experiment_name", filepath.Base(r.stampDir))
	meta.Set("time", r.now().Format("20060102_150405"))
	meta.Set("mmengine_version", mmengineVersion)
	dm := checkpoint.NewDict()
	if len(r.classes) > 0 {
		cl := make(checkpoint.Tuple, len(r.classes))
		for i, c := range r.classes {
			cl[i] = c
		}
		dm.Set("classes", cl)
	}
	meta.Set("dataset_meta", dm)

	root := checkpoint.NewDict()
	root.Set("meta", meta)
	model := checkpoint.FromEntries(r.m.StateDict())
	hub := checkpoint.NewDict()
	hub.Set("log_scalars", checkpoint.NewDict())
	hub.Set("runtime_info", checkpoint.NewDict())
	hub.Set("resumed_keys", checkpoint.NewDict())
	var ema *checkpoint.StateDict
	if r.ema != nil {
		ema = r.ema.StateDict()
		// EMAHook._swap_ema_state_dict
		for _, k := range ema.Keys {
			if mk, ok := strings.CutPrefix(k, "module."); ok {
				ema.Tensors[k], model.Tensors[mk] = model.Tensors[mk], ema.Tensors[k]
			}
		}
	}
	root.Set("state_dict", model)
	root.Set("message_hub", hub)
	root.Set("optimizer", r.opt.StateDict())
	ps := make(checkpoint.List, len(r.scheds))
	for i, s := range r.scheds {
		ps[i] = s.StateDict()
	}
	root.Set("param_schedulers", ps)
	if ema != nil {
		root.Set("ema_state_dict", ema)
	}
	return root
}

// save writes name into the work dir atomically and points last_checkpoint
// at it (CheckpointHook), removing old files beyond max_keep_ckpts.
func (r *runner) save(name string, byEpoch bool) error {
	path := filepath.Join(r.workDir, name)
	if err := checkpoint.Save(path, r.checkpointDict(byEpoch)); err != nil {
		return err
	}
	abs := absPath(path)
	if err := atomicfile.WriteFile(filepath.Join(r.workDir, "last_checkpoint"), []byte(abs)); err != nil {
		return err
	}
	r.lastCkpt = abs
	r.infof("Saving checkpoint at %s", strings.TrimSuffix(strings.TrimPrefix(name, "epoch_"), ".pth"))
	r.savedCkpts = append(r.savedCkpts, path)
	if r.maxKeep > 0 && len(r.savedCkpts) > r.maxKeep {
		old := r.savedCkpts[0]
		r.savedCkpts = r.savedCkpts[1:]
		os.Remove(old)
	}
	return nil
}

// loadWeights resumes (opts.Resume or cfg.resume) or fine-tunes from
// load_from.
func (r *runner) loadWeights() error {
	resume := r.opts.Resume
	if resume == "" && r.cfg.boolean("resume", false) {
		resume = "auto"
		if lf := r.cfg.str("load_from", ""); lf != "" {
			resume = lf
		}
	}
	if resume == "auto" {
		b, err := os.ReadFile(filepath.Join(r.workDir, "last_checkpoint"))
		if err != nil {
			r.warnf("Auto resume: no last_checkpoint in %s; training from scratch.", r.workDir)
			resume = ""
		} else {
			resume = strings.TrimSpace(string(b))
		}
	}
	if resume != "" {
		return r.resumeFrom(resume)
	}
	if lf := r.cfg.str("load_from", ""); lf != "" {
		return r.loadFrom(lf)
	}
	return nil
}

// loadFrom is load_checkpoint(strict=False) of state_dict: keys of the
// model found with the same shape are loaded; missing, unexpected and
// shape-mismatched keys (a new head size) are reported and left as
// initialized. The EMA model starts as a copy of the result.
func (r *runner) loadFrom(path string) error {
	f, err := checkpoint.Load(path)
	if err != nil {
		return err
	}
	sd, err := f.StateDict()
	if err != nil {
		return err
	}
	var missing, mismatched []string
	inModel := map[string]bool{}
	for _, e := range r.m.StateDict() {
		inModel[e.Key] = true
		t, ok := sd.Tensors[e.Key]
		if !ok {
			if e.Kind != model.Counter {
				missing = append(missing, e.Key)
			}
			continue
		}
		if e.Kind == model.Counter {
			if len(t.I64) == 1 {
				*e.Count = t.I64[0]
			}
			continue
		}
		if !t.DType.IsFloat() || !slices.Equal(t.Shape, e.Tensor.Shape) {
			mismatched = append(mismatched, fmt.Sprintf("%s: checkpoint %v, model %v", e.Key, t.Shape, e.Tensor.Shape))
			continue
		}
		copy(e.Tensor.Data, t.F32)
	}
	var unexpected []string
	for _, k := range sd.Keys {
		if !inModel[k] {
			unexpected = append(unexpected, k)
		}
	}
	r.infof("Load checkpoint from %s", path)
	if len(mismatched) > 0 {
		r.warnf("size mismatch, left as initialized: %s", strings.Join(mismatched, "; "))
	}
	if len(missing) > 0 {
		r.warnf("missing keys in source state_dict: %s", strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		r.warnf("unexpected key in source state_dict: %s", strings.Join(unexpected, ", "))
	}
	if r.ema != nil {
		copyEntries(r.ema.Model.StateDict(), r.m.StateDict())
	}
	return nil
}

// resumeFrom restores model, EMA, optimizer, schedulers, epoch, iter and
// seed (Runner.resume with the EMAHook's after_load_checkpoint swap).
func (r *runner) resumeFrom(path string) error {
	fail := func(err error) error { return &ResumeError{Path: path, Err: err} }
	f, err := checkpoint.Load(path)
	if err != nil {
		return fail(err)
	}
	sd, err := f.StateDict()
	if err != nil {
		return fail(err)
	}
	root, _ := f.Root.(*checkpoint.Dict)
	if ema, ok := f.EMAStateDict(); ok && r.ema != nil {
		// state_dict holds the EMA weights, ema_state_dict the raw ones.
		if err := checkpoint.Apply(r.m.StateDict(), ema); err != nil {
			return fail(err)
		}
		if err := checkpoint.Apply(r.ema.Model.StateDict(), sd); err != nil {
			return fail(err)
		}
		if es := root.Dict("ema_state_dict"); es != nil {
			if v, ok := es.Get("steps"); ok {
				if t, ok := v.(*checkpoint.Tensor); ok && len(t.I64) == 1 {
					r.ema.Steps = t.I64[0]
				}
			}
		}
	} else {
		if err := checkpoint.Apply(r.m.StateDict(), sd); err != nil {
			return fail(err)
		}
		if r.ema != nil {
			r.warnf("There is no `ema_state_dict` in checkpoint. `EMAHook` will make a copy of `state_dict` as the initial `ema_state_dict`")
			copyEntries(r.ema.Model.StateDict(), r.m.StateDict())
		}
	}
	if od := root.Dict("optimizer"); od != nil {
		if err := r.opt.LoadStateDict(od); err != nil {
			return fail(err)
		}
	} else {
		return fail(fmt.Errorf("no optimizer state"))
	}
	if v, ok := root.Get("param_schedulers"); ok {
		l, _ := v.(checkpoint.List)
		if len(l) != len(r.scheds) {
			return fail(fmt.Errorf("%d scheduler states for %d schedulers", len(l), len(r.scheds)))
		}
		for i, s := range r.scheds {
			d, _ := l[i].(*checkpoint.Dict)
			if d == nil {
				return fail(fmt.Errorf("param_schedulers[%d] is not a dict", i))
			}
			if err := s.LoadStateDict(d); err != nil {
				return fail(err)
			}
		}
	}
	meta := f.Meta()
	if meta == nil {
		return fail(fmt.Errorf("no meta"))
	}
	ep, _ := meta.Get("epoch")
	it, _ := meta.Get("iter")
	epf, ok1 := toFloat(ep)
	itf, ok2 := toFloat(it)
	if !ok1 || !ok2 {
		return fail(fmt.Errorf("meta lacks epoch/iter"))
	}
	r.epoch, r.iter = int(epf), int(itf)
	if s, ok := meta.Get("seed"); ok && r.opts.Seed == nil {
		if sf, ok := toFloat(s); ok {
			r.seed = int64(sf)
		}
	}
	r.infof("resumed epoch: %d, iter: %d", r.epoch, r.iter)
	return nil
}
