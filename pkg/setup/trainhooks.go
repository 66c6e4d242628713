package setup

import (
	"encoding/json"
	"fmt"

	"github.com/mobileone-go/mobileone/pkg/train"
)

// defaultHookOrder is Runner.register_default_hooks' order and defaults.
var defaultHookOrder = []struct{ key, typ string }{
	{"runtime_info", "RuntimeInfoHook"}, {"timer", "IterTimerHook"}, {"sampler_seed", "DistSamplerSeedHook"},
	{"logger", "LoggerHook"}, {"param_scheduler", "ParamSchedulerHook"}, {"checkpoint", "CheckpointHook"},
}

// hookKinds builds each hook type from its dict at path (nil, nil: a
// hook with nothing to do here).
var hookKinds = map[string]func(b *specBuilder, path string) (train.Hook, error){
	"RuntimeInfoHook":     noArgs(nil),
	"IterTimerHook":       noArgs(func() train.Hook { return &train.IterTimerHook{} }),
	"DistSamplerSeedHook": noArgs(func() train.Hook { return train.DistSamplerSeedHook{} }),
	"ParamSchedulerHook":  noArgs(func() train.Hook { return train.ParamSchedulerHook{} }),
	"LoggerHook": func(b *specBuilder, path string) (train.Hook, error) {
		var c struct {
			hookCommon
			Interval         *int            `json:"interval"`
			IgnoreLast       *bool           `json:"ignore_last"`
			IntervalExpName  *int            `json:"interval_exp_name"`
			LogMetricByEpoch *bool           `json:"log_metric_by_epoch"`
			OutDir           json.RawMessage `json:"out_dir"`
			OutSuffix        json.RawMessage `json:"out_suffix"`
			KeepLocal        *bool           `json:"keep_local"`
			FileClientArgs   json.RawMessage `json:"file_client_args"`
			BackendArgs      json.RawMessage `json:"backend_args"`
		}
		if err := b.cfg.Decode(path, &c); err != nil {
			return nil, err
		}
		if setRaw(c.OutDir) || setRaw(c.FileClientArgs) || setRaw(c.BackendArgs) {
			return nil, b.unsupported(path+".out_dir", "set (logs are written in the work dir)")
		}
		h := &train.LoggerHook{Interval: 10, IgnoreLast: true, ByEpoch: true}
		if c.Interval != nil {
			if *c.Interval <= 0 {
				return nil, b.bad(path+".interval", "must be a positive integer, got %d", *c.Interval)
			}
			h.Interval = *c.Interval
		}
		if c.IgnoreLast != nil {
			h.IgnoreLast = *c.IgnoreLast
		}
		if err := b.logProcessor(h); err != nil {
			return nil, err
		}
		return h, nil
	},
	"CheckpointHook": func(b *specBuilder, path string) (train.Hook, error) {
		var c struct {
			hookCommon
			Interval           *int            `json:"interval"`
			ByEpoch            *bool           `json:"by_epoch"`
			SaveOptimizer      *bool           `json:"save_optimizer"`
			SaveParamScheduler *bool           `json:"save_param_scheduler"`
			MaxKeepCkpts       *int            `json:"max_keep_ckpts"`
			SaveLast           *bool           `json:"save_last"`
			SaveBegin          *int            `json:"save_begin"`
			OutDir             json.RawMessage `json:"out_dir"`
			SaveBest           json.RawMessage `json:"save_best"`
			Rule               json.RawMessage `json:"rule"`
			GreaterKeys        json.RawMessage `json:"greater_keys"`
			LessKeys           json.RawMessage `json:"less_keys"`
			FileClientArgs     json.RawMessage `json:"file_client_args"`
			FilenameTmpl       json.RawMessage `json:"filename_tmpl"`
			BackendArgs        json.RawMessage `json:"backend_args"`
			PublishedKeys      json.RawMessage `json:"published_keys"`
		}
		if err := b.cfg.Decode(path, &c); err != nil {
			return nil, err
		}
		for _, k := range []struct {
			name string
			raw  json.RawMessage
		}{{"out_dir", c.OutDir}, {"save_best", c.SaveBest}, {"rule", c.Rule}, {"greater_keys", c.GreaterKeys}, {"less_keys", c.LessKeys},
			{"file_client_args", c.FileClientArgs}, {"filename_tmpl", c.FilenameTmpl}, {"backend_args", c.BackendArgs}, {"published_keys", c.PublishedKeys}} {
			if setRaw(k.raw) {
				return nil, b.unsupported(path+"."+k.name, "set")
			}
		}
		h := &train.CheckpointHook{Interval: -1, ByEpoch: true, SaveLast: true, MaxKeepCkpts: -1, SaveOptimizer: true, SaveParamScheduler: true}
		setInt := func(dst *int, v *int) {
			if v != nil {
				*dst = *v
			}
		}
		setBool := func(dst *bool, v *bool) {
			if v != nil {
				*dst = *v
			}
		}
		setInt(&h.Interval, c.Interval)
		setInt(&h.MaxKeepCkpts, c.MaxKeepCkpts)
		setInt(&h.SaveBegin, c.SaveBegin)
		setBool(&h.ByEpoch, c.ByEpoch)
		setBool(&h.SaveLast, c.SaveLast)
		setBool(&h.SaveOptimizer, c.SaveOptimizer)
		setBool(&h.SaveParamScheduler, c.SaveParamScheduler)
		if h.MaxKeepCkpts == 0 {
			return nil, b.bad(path+".max_keep_ckpts", "0 would delete every checkpoint; use -1 to keep all")
		}
		if h.SaveBegin < 0 {
			return nil, b.bad(path+".save_begin", "should not be less than 0, but got %d", h.SaveBegin)
		}
		return h, nil
	},
	"VisualizationHook": func(b *specBuilder, path string) (train.Hook, error) {
		var c struct {
			hookCommon
			Enable      bool            `json:"enable"`
			Interval    *int            `json:"interval"`
			OutDir      json.RawMessage `json:"out_dir"`
			Draw        *bool           `json:"draw"`
			ShowGT      *bool           `json:"show"`
			WaitTime    *float64        `json:"wait_time"`
			BackendArgs json.RawMessage `json:"backend_args"`
		}
		if err := b.cfg.Decode(path, &c); err != nil {
			return nil, err
		}
		if c.Enable {
			return nil, b.unsupported(path+".enable", "True (prediction drawing)")
		}
		return nil, nil
	},
	"EMAHook": func(b *specBuilder, path string) (train.Hook, error) {
		var c struct {
			hookCommon
			EMAType       *string  `json:"ema_type"`
			Momentum      *float64 `json:"momentum"`
			UpdateBuffers bool     `json:"update_buffers"`
			Interval      *int     `json:"interval"`
			StrictLoad    bool     `json:"strict_load"`
			BeginIter     int      `json:"begin_iter"`
			BeginEpoch    int      `json:"begin_epoch"`
		}
		if err := b.cfg.Decode(path, &c); err != nil {
			return nil, err
		}
		if c.EMAType != nil && *c.EMAType != "ExponentialMovingAverage" {
			return nil, b.unsupported(path+".ema_type", "%q (ExponentialMovingAverage)", *c.EMAType)
		}
		if c.Interval != nil && *c.Interval != 1 {
			return nil, b.unsupported(path+".interval", "%d (1)", *c.Interval)
		}
		h := &train.EMAHook{Momentum: 0.0002, UpdateBuffers: c.UpdateBuffers, BeginIter: c.BeginIter, BeginEpoch: c.BeginEpoch}
		if c.Momentum != nil {
			h.Momentum = *c.Momentum
		}
		switch {
		case h.Momentum <= 0 || h.Momentum >= 1:
			return nil, b.bad(path+".momentum", "must be in (0, 1), got %v", h.Momentum)
		case c.BeginIter != 0 && c.BeginEpoch != 0:
			return nil, b.bad(path, "`begin_iter` and `begin_epoch` should not be both set")
		case c.BeginIter < 0 || c.BeginEpoch < 0:
			return nil, b.bad(path, "begin_iter and begin_epoch must not be negative")
		}
		return h, nil
	},
	"SwitchRecipeHook": func(b *specBuilder, path string) (train.Hook, error) {
		var c struct {
			hookCommon
			Schedule []json.RawMessage `json:"schedule"`
		}
		if err := b.cfg.Decode(path, &c); err != nil {
			return nil, err
		}
		var entries []train.RecipeEntry
		for i := range c.Schedule {
			p := fmt.Sprintf("%s.schedule.%d", path, i)
			var e map[string]json.RawMessage
			if err := b.cfg.Decode(p, &e); err != nil {
				return nil, err
			}
			var ent train.RecipeEntry
			if err := b.cfg.Decode(p+".action_epoch", &ent.ActionEpoch); err != nil {
				return nil, b.bad(p+".action_epoch", "missing or not an integer")
			}
			var ignored []string
			for k, raw := range e {
				switch k {
				case "action_epoch":
				case "train_pipeline":
					pl, err := Pipeline(b.cfg, p+".train_pipeline", b.reg)
					if err != nil {
						return nil, err
					}
					ent.TrainPipeline = pl
				case "loss":
					l, err := b.loss(p + ".loss")
					if err != nil {
						return nil, err
					}
					ent.Loss = l
				case "batch_augments":
					if setRaw(raw) {
						return nil, b.unsupported(p+".batch_augments", "set (Mixup/CutMix are not implemented)")
					}
				default:
					ignored = append(ignored, k)
				}
			}
			for _, k := range sortedStrings(ignored) {
				b.spec.Warnings = append(b.spec.Warnings, fmt.Sprintf("SwitchRecipeHook: the schedule entry for epoch %d has the key %q, which the hook ignores (it reads train_pipeline, batch_augments and loss); as upstream, nothing is switched for it", ent.ActionEpoch, k))
			}
			entries = append(entries, ent)
		}
		h, err := train.NewSwitchRecipeHook(entries)
		if err != nil {
			return nil, b.bad(path+".schedule", "%v", err)
		}
		return h, nil
	},
}

// typeOnly reads a dict's type and priority, leaving its other keys to
// the type's own strict decoder.
type typeOnly hookCommon

func (typeOnly) AllowUnknownFields() bool { return true }

// hookCommon is the priority every hook dict may carry.
type hookCommon struct {
	Type     string `json:"type"`
	Priority any    `json:"priority"`
}

func noArgs(mk func() train.Hook) func(b *specBuilder, path string) (train.Hook, error) {
	return func(b *specBuilder, path string) (train.Hook, error) {
		var c hookCommon
		if err := b.cfg.Decode(path, &c); err != nil {
			return nil, err
		}
		if mk == nil {
			return nil, nil
		}
		return mk(), nil
	}
}

// hook builds the hook dict at path, with its priority.
func (b *specBuilder) hook(path string) (train.Hook, error) {
	var c typeOnly
	if err := b.cfg.Decode(path, &c); err != nil {
		return nil, err
	}
	mk, ok := hookKinds[c.Type]
	if !ok {
		return nil, b.unsupported(path+".type", "%q (one of %s)", c.Type, keyList(hookKinds))
	}
	h, err := mk(b, path)
	if err != nil || h == nil {
		return nil, err
	}
	switch p := c.Priority.(type) {
	case nil:
	case string:
		v, ok := train.Priorities[p]
		if !ok {
			return nil, b.bad(path+".priority", "%q is not a priority name (HIGHEST ... LOWEST)", p)
		}
		h = train.WithPriority(h, v)
	case float64:
		if p != float64(int(p)) || p < 0 || p > 100 {
			return nil, b.bad(path+".priority", "must be an integer in [0, 100], got %v", p)
		}
		h = train.WithPriority(h, int(p))
	default:
		return nil, b.bad(path+".priority", "must be a name or an integer, got %v", p)
	}
	return h, nil
}

// hooks builds default_hooks (merged over mmengine's defaults; a key set
// to None removes that hook) and custom_hooks.
func (b *specBuilder) hooks() error {
	var given map[string]json.RawMessage
	if _, err := b.decode("default_hooks", &given); err != nil {
		return err
	}
	var order []string
	for _, d := range defaultHookOrder {
		order = append(order, d.key)
	}
	for _, k := range sortedKeys(given) {
		known := false
		for _, d := range defaultHookOrder {
			known = known || d.key == k
		}
		if !known {
			order = append(order, k)
		}
	}
	for _, k := range order {
		raw, set := given[k]
		path := "default_hooks." + k
		var h train.Hook
		var err error
		switch {
		case set && !setRaw(raw):
			continue // removed with None
		case set:
			h, err = b.hook(path)
		default:
			typ := ""
			for _, d := range defaultHookOrder {
				if d.key == k {
					typ = d.typ
				}
			}
			h, err = b.defaultHook(typ)
		}
		if err != nil {
			return err
		}
		if h != nil {
			b.spec.Hooks = append(b.spec.Hooks, h)
		}
	}
	v, ok := b.cfg.Get("custom_hooks")
	if !ok || v == nil {
		return nil
	}
	var list []json.RawMessage
	if err := b.cfg.Decode("custom_hooks", &list); err != nil {
		return err
	}
	for i := range list {
		h, err := b.hook(fmt.Sprintf("custom_hooks.%d", i))
		if err != nil {
			return err
		}
		if h != nil {
			b.spec.Hooks = append(b.spec.Hooks, h)
		}
	}
	return nil
}

// defaultHook is a default hook the config does not mention, with its
// constructor defaults (LoggerHook reads log_processor too).
func (b *specBuilder) defaultHook(typ string) (train.Hook, error) {
	switch typ {
	case "IterTimerHook":
		return &train.IterTimerHook{}, nil
	case "DistSamplerSeedHook":
		return train.DistSamplerSeedHook{}, nil
	case "ParamSchedulerHook":
		return train.ParamSchedulerHook{}, nil
	case "LoggerHook":
		h := &train.LoggerHook{Interval: 10, IgnoreLast: true, ByEpoch: true}
		return h, b.logProcessor(h)
	case "CheckpointHook":
		return &train.CheckpointHook{Interval: 1, ByEpoch: true, SaveLast: true, MaxKeepCkpts: -1, SaveOptimizer: true, SaveParamScheduler: true}, nil
	}
	return nil, nil
}

// logProcessor reads log_processor (LogProcessor's window_size).
func (b *specBuilder) logProcessor(h *train.LoggerHook) error {
	var c struct {
		Type             string          `json:"type"`
		WindowSize       *int            `json:"window_size"`
		ByEpoch          *bool           `json:"by_epoch"`
		CustomCfg        json.RawMessage `json:"custom_cfg"`
		NumDigits        *int            `json:"num_digits"`
		LogWithHierarchy *bool           `json:"log_with_hierarchy"`
		MeanPattern      json.RawMessage `json:"mean_pattern"`
	}
	if _, err := b.decode("log_processor", &c); err != nil {
		return err
	}
	if setRaw(c.CustomCfg) || setRaw(c.MeanPattern) || c.NumDigits != nil && *c.NumDigits != 4 || c.LogWithHierarchy != nil && *c.LogWithHierarchy {
		return b.unsupported("log_processor", "custom_cfg, mean_pattern, num_digits other than 4 and log_with_hierarchy")
	}
	if c.ByEpoch != nil {
		h.ByEpoch = *c.ByEpoch
	}
	if c.WindowSize != nil {
		if *c.WindowSize <= 0 {
			return b.bad("log_processor.window_size", "must be a positive integer")
		}
		h.WindowSize = *c.WindowSize
	}
	return nil
}
