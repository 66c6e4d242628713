package train

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mobileone-go/mobileone/internal/atomicfile"

	"github.com/mobileone-go/mobileone/pkg/checkpoint"
	"github.com/mobileone-go/mobileone/pkg/model"
)

// mmengineVersion is written into meta.mmengine_version: the upstream
// version these checkpoints follow.
const mmengineVersion = "0.11.0rc0"

// Checkpoint is a checkpoint being saved or just loaded, as the
// before_save_checkpoint / after_load_checkpoint hooks see it: the whole
// dict and its model state_dict (which a hook may swap, as the EMAHook
// does).
type Checkpoint struct {
	Root      *checkpoint.Dict
	StateDict *checkpoint.StateDict
	// EMA is the "ema_state_dict" entry (nil: none).
	EMA *checkpoint.StateDict
}

// CheckpointHook is mmengine's CheckpointHook: it saves epoch_N.pth (or
// iter_N.pth) every Interval epochs (iterations) from SaveBegin, and the
// last one when SaveLast, points last_checkpoint at it, and keeps at most
// MaxKeepCkpts of them, counting the files already in the work dir (so the
// limit holds across --resume).
type CheckpointHook struct {
	BaseHook
	Interval           int  // mmengine default -1: only the last
	ByEpoch            bool // default true
	SaveLast           bool // default true
	SaveBegin          int
	MaxKeepCkpts       int  // -1: keep all
	SaveOptimizer      bool // default true
	SaveParamScheduler bool // default true

	keep []int // steps of the kept checkpoints, oldest first
}

func (*CheckpointHook) Name() string  { return "CheckpointHook" }
func (*CheckpointHook) Priority() int { return PriorityVeryLow }

func (h *CheckpointHook) tmpl() string {
	if h.ByEpoch {
		return "epoch_%d.pth"
	}
	return "iter_%d.pth"
}

// BeforeTrain collects the checkpoints of this naming already in the
// work dir (up to the current step) for max_keep_ckpts.
func (h *CheckpointHook) BeforeTrain(r *Runner) error {
	r.Infof("Checkpoints will be saved to %s.", absPath(r.WorkDir))
	cur := r.Iter
	if h.ByEpoch {
		cur = r.Epoch
	}
	h.keep = onDiskSteps(r.WorkDir, h.tmpl(), cur)
	h.prune(r)
	return nil
}

var stepName = regexp.MustCompile(`^(epoch|iter)_([0-9]+)\.pth$`)

// onDiskSteps lists the steps N of files named like tmpl in dir, N <= upTo.
func onDiskSteps(dir, tmpl string, upTo int) []int {
	ents, _ := os.ReadDir(dir)
	prefix := strings.SplitN(tmpl, "_", 2)[0]
	var steps []int
	for _, e := range ents {
		m := stepName.FindStringSubmatch(e.Name())
		if m == nil || m[1] != prefix {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err == nil && n <= upTo {
			steps = append(steps, n)
		}
	}
	sort.Ints(steps)
	return steps
}

func (h *CheckpointHook) prune(r *Runner) {
	if h.MaxKeepCkpts <= 0 {
		return
	}
	for len(h.keep) > h.MaxKeepCkpts {
		os.Remove(filepath.Join(r.WorkDir, fmt.Sprintf(h.tmpl(), h.keep[0])))
		h.keep = h.keep[1:]
	}
}

func (h *CheckpointHook) AfterTrainEpoch(r *Runner) error {
	if !h.ByEpoch {
		return nil
	}
	n := r.Epoch + 1 - h.SaveBegin
	if h.Interval > 0 && n >= 0 && n%h.Interval == 0 || h.SaveLast && r.Epoch+1 == r.Spec.Loop.MaxEpochs {
		return h.save(r, r.Epoch+1)
	}
	return nil
}

func (h *CheckpointHook) AfterTrainIter(r *Runner, _ int, _ *IterOutput) error {
	if h.ByEpoch {
		return nil
	}
	n := r.Iter + 1 - h.SaveBegin
	if h.Interval > 0 && n >= 0 && n%h.Interval == 0 || h.SaveLast && r.Iter+1 == r.MaxIters {
		return h.save(r, r.Iter+1)
	}
	return nil
}

// save writes the checkpoint for step, points last_checkpoint at it and
// removes the oldest beyond max_keep_ckpts. Ctrl-C during the write stops
// it: the file is not written and last_checkpoint keeps naming the
// previous one.
func (h *CheckpointHook) save(r *Runner, step int) error {
	name := fmt.Sprintf(h.tmpl(), step)
	path := filepath.Join(r.WorkDir, name)
	if len(h.keep) == 0 || h.keep[len(h.keep)-1] != step {
		h.keep = append(h.keep, step)
	}
	ck, err := r.checkpointDict(h)
	if err != nil {
		return err
	}
	if err := checkpoint.SaveContext(r.ctx, path, ck.Root); err != nil {
		return err
	}
	abs := absPath(path)
	if err := atomicfile.WriteFile(filepath.Join(r.WorkDir, "last_checkpoint"), []byte(abs)); err != nil {
		return err
	}
	r.LastCkpt = abs
	r.Infof("Saving checkpoint at %d %s", step, map[bool]string{true: "epochs", false: "iterations"}[h.ByEpoch])
	h.prune(r)
	return nil
}

// checkpointDict builds what mmengine's Runner.save_checkpoint writes:
// meta, state_dict, message_hub, optimizer, param_schedulers, then lets
// the hooks add to it (before_save_checkpoint: the EMAHook adds
// ema_state_dict and swaps the weights).
func (r *Runner) checkpointDict(h *CheckpointHook) (*Checkpoint, error) {
	meta := checkpoint.NewDict()
	if h.ByEpoch {
		meta.Set("epoch", int64(r.Epoch+1))
		meta.Set("iter", int64(r.Iter))
	} else {
		meta.Set("epoch", int64(r.Epoch))
		meta.Set("iter", int64(r.Iter+1))
	}
	meta.Set("cfg", r.Spec.ConfigText)
	meta.Set("seed", r.Seed)
	meta.Set("experiment_name", filepath.Base(r.stampDir))
	meta.Set("time", r.now().Format("20060102_150405"))
	meta.Set("mmengine_version", mmengineVersion)
	dm := checkpoint.NewDict()
	if cl := r.Spec.Train.Dataset.Classes; len(cl) > 0 {
		t := make(checkpoint.Tuple, len(cl))
		for i, c := range cl {
			t[i] = c
		}
		dm.Set("classes", t)
	}
	meta.Set("dataset_meta", dm)

	root := checkpoint.NewDict()
	root.Set("meta", meta)
	ck := &Checkpoint{Root: root, StateDict: checkpoint.FromEntries(r.Model.StateDict())}
	root.Set("state_dict", ck.StateDict)
	root.Set("message_hub", r.messageHub(h))
	if h.SaveOptimizer {
		root.Set("optimizer", r.Optim.StateDict())
	}
	if h.SaveParamScheduler {
		ps := make(checkpoint.List, len(r.Schedulers))
		for i, s := range r.Schedulers {
			ps[i] = s.StateDict()
		}
		root.Set("param_schedulers", ps)
	}
	if err := r.call("before_save_checkpoint", func(hk Hook) error { return hk.BeforeSaveCheckpoint(r, ck) }); err != nil {
		return nil, err
	}
	if ck.EMA != nil {
		root.Set("ema_state_dict", ck.EMA)
	}
	return ck, nil
}

// messageHub is MessageHub.state_dict() with the runtime information the
// CheckpointHook keeps there (keep_ckpt_ids).
func (r *Runner) messageHub(h *CheckpointHook) *checkpoint.Dict {
	info := checkpoint.NewDict()
	ids := make(checkpoint.List, len(h.keep))
	for i, s := range h.keep {
		ids[i] = int64(s)
	}
	info.Set("keep_ckpt_ids", ids)
	hub := checkpoint.NewDict()
	hub.Set("log_scalars", checkpoint.NewDict())
	hub.Set("runtime_info", info)
	hub.Set("resumed_keys", checkpoint.NewDict())
	return hub
}

// loadOrResume is Runner.load_or_resume: --resume (or resume=True) resumes
// from the given checkpoint or the work dir's last one; else load_from
// fine-tunes from a checkpoint.
func (r *Runner) loadOrResume() error {
	resume := r.opts.Resume
	if resume == "" && r.Spec.Resume {
		resume = "auto"
		if r.Spec.LoadFrom != "" {
			resume = r.Spec.LoadFrom
		}
	}
	if resume == "auto" {
		b, err := os.ReadFile(filepath.Join(r.WorkDir, "last_checkpoint"))
		if err != nil {
			r.Warnf("Auto resume: no last_checkpoint in %s; training from scratch.", r.WorkDir)
			resume = ""
		} else {
			resume = strings.TrimSpace(string(b))
			r.Infof("Auto resumed from the latest checkpoint %s.", resume)
		}
	}
	if resume != "" {
		return r.resume(resume)
	}
	if r.Spec.LoadFrom != "" {
		return r.loadFrom(r.Spec.LoadFrom)
	}
	return nil
}

// loadPartial is mmengine's load_state_dict(strict=False) of sd into
// entries: keys found with the same shape are loaded; missing, unexpected
// and shape-mismatched ones (a head of another size) are reported in
// mmengine's words and left as they were.
func (r *Runner) loadPartial(entries []model.Entry, sd *checkpoint.StateDict) {
	if msg := loadPartial(entries, sd); msg != "" {
		r.Warnf("%s", msg)
	}
}

// loadPartialQuiet is loadPartial without the report.
func (r *Runner) loadPartialQuiet(entries []model.Entry, sd *checkpoint.StateDict) {
	loadPartial(entries, sd)
}

func loadPartial(entries []model.Entry, sd *checkpoint.StateDict) string {
	var missing, mismatched []string
	inModel := map[string]bool{}
	for _, e := range entries {
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
			mismatched = append(mismatched, fmt.Sprintf("%s\t%v\t%v", e.Key, t.Shape, e.Tensor.Shape))
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
	var msg []string
	if len(unexpected) > 0 {
		msg = append(msg, "unexpected key in source state_dict: "+strings.Join(unexpected, ", "))
	}
	if len(mismatched) > 0 {
		msg = append(msg, "size mismatch for the following keys (name, checkpoint shape, model shape), left as initialized:\n"+strings.Join(mismatched, "\n"))
	}
	if len(missing) > 0 {
		msg = append(msg, "missing keys in source state_dict: "+strings.Join(missing, ", "))
	}
	if len(msg) == 0 {
		return ""
	}
	return fmt.Sprintf("The model and loaded state dict do not match exactly\n\n%s\n", strings.Join(msg, "\n\n"))
}

// loadFrom is Runner.load_checkpoint(load_from): the after_load_checkpoint
// hooks, then the state_dict loaded with strict=False.
func (r *Runner) loadFrom(path string) error {
	f, err := checkpoint.Load(path)
	if err != nil {
		return err
	}
	sd, err := f.StateDict()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	root, _ := f.Root.(*checkpoint.Dict)
	ck := &Checkpoint{Root: root, StateDict: sd}
	if err := r.call("after_load_checkpoint", func(h Hook) error { return h.AfterLoadCheckpoint(r, ck) }); err != nil {
		return err
	}
	r.loadPartial(r.Model.StateDict(), ck.StateDict)
	r.Infof("Load checkpoint from %s", path)
	return nil
}

// loadPretrained applies init_cfg=dict(type='Pretrained', prefix=...):
// the checkpoint keys under prefix, without it, into the module.
func (r *Runner) loadPretrained(p PretrainedInit) error {
	f, err := checkpoint.Load(p.Checkpoint)
	if err != nil {
		return err
	}
	sd, err := f.StateDict()
	if err != nil {
		return fmt.Errorf("%s: %w", p.Checkpoint, err)
	}
	sub := checkpoint.NewStateDict()
	pre := p.Prefix
	if pre != "" && !strings.HasSuffix(pre, ".") {
		pre += "."
	}
	for _, k := range sd.Keys {
		if rest, ok := strings.CutPrefix(k, pre); ok {
			sub.Add(p.Module+"."+rest, sd.Tensors[k])
		}
	}
	if sub.Len() == 0 {
		return fmt.Errorf("%s: no key starts with prefix %q (init_cfg of %s)", p.Checkpoint, p.Prefix, p.Module)
	}
	var entries []model.Entry
	for _, e := range r.Model.StateDict() {
		if strings.HasPrefix(e.Key, p.Module+".") {
			entries = append(entries, e)
		}
	}
	r.Infof("load %s in model from: %s", p.Prefix, p.Checkpoint)
	r.loadPartial(entries, sub)
	return nil
}

// resume is Runner.resume: model (after the after_load_checkpoint hooks),
// optimizer, schedulers, epoch, iter and seed.
func (r *Runner) resume(path string) error {
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
	r.Resumed = true
	ck := &Checkpoint{Root: root, StateDict: sd}
	if ema, ok := f.EMAStateDict(); ok {
		// as saved: "steps", then the weights under "module."
		ck.EMA = checkpoint.NewStateDict()
		if es := root.Dict("ema_state_dict"); es != nil {
			if v, ok := es.Get("steps"); ok {
				if t, ok := v.(*checkpoint.Tensor); ok {
					ck.EMA.Add("steps", t)
				}
			}
		}
		for _, k := range ema.Keys {
			ck.EMA.Add("module."+k, ema.Tensors[k])
		}
	}
	if err := r.call("after_load_checkpoint", func(h Hook) error { return h.AfterLoadCheckpoint(r, ck) }); err != nil {
		return fail(err)
	}
	if err := checkpoint.Apply(r.Model.StateDict(), ck.StateDict); err != nil {
		return fail(err)
	}
	meta := f.Meta()
	if meta == nil {
		return fail(fmt.Errorf("no meta"))
	}
	ep, _ := meta.Get("epoch")
	it, _ := meta.Get("iter")
	epf, ok1 := toFloat(ep)
	itf, ok2 := toFloat(it)
	if !ok1 || !ok2 || epf < 0 || itf < 0 {
		return fail(fmt.Errorf("meta lacks epoch/iter"))
	}
	r.Epoch, r.Iter = int(epf), int(itf)
	if s, ok := meta.Get("seed"); ok && r.opts.Seed == nil {
		if sf, ok := toFloat(s); ok {
			r.Seed = int64(sf)
		}
	}
	if od := root.Dict("optimizer"); od != nil {
		if err := r.Optim.LoadStateDict(od); err != nil {
			return fail(err)
		}
	} else {
		return fail(fmt.Errorf("no optimizer state"))
	}
	if v, ok := root.Get("param_schedulers"); ok {
		l, _ := v.(checkpoint.List)
		if len(l) != len(r.Schedulers) {
			return fail(fmt.Errorf("%d scheduler states for %d schedulers", len(l), len(r.Schedulers)))
		}
		for i, s := range r.Schedulers {
			d, _ := l[i].(*checkpoint.Dict)
			if d == nil {
				return fail(fmt.Errorf("param_schedulers[%d] is not a dict", i))
			}
			if err := s.LoadStateDict(d); err != nil {
				return fail(err)
			}
		}
	}
	r.resumedFrom = path
	r.Infof("Resumed from %s", path)
	r.Infof("resumed epoch: %d, iter: %d", r.Epoch, r.Iter)
	return nil
}
