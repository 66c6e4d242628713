package setup

import (
	"encoding/json"

	"github.com/mobileone-go/mobileone/pkg/train"
)

// dataloaderCfg is a *_dataloader dict (mmengine's DataLoader arguments).
type dataloaderCfg struct {
	BatchSize         *int            `json:"batch_size"`
	NumWorkers        *int            `json:"num_workers"`
	PersistentWorkers *bool           `json:"persistent_workers"`
	PinMemory         *bool           `json:"pin_memory"`
	DropLast          *bool           `json:"drop_last"`
	PrefetchFactor    *int            `json:"prefetch_factor"`
	Sampler           *samplerCfg     `json:"sampler"`
	BatchSampler      json.RawMessage `json:"batch_sampler"`
	CollateFn         *struct {
		Type string `json:"type"`
	} `json:"collate_fn"`
	Dataset json.RawMessage `json:"dataset"`
}

type samplerCfg struct {
	Type    string `json:"type"`
	Shuffle *bool  `json:"shuffle"`
	Seed    *int64 `json:"seed"`
	RoundUp *bool  `json:"round_up"`
}

// dataloader reads a dataloader dict: batch size and workers (checked
// before anything is read), sampler, dataset and pipeline.
func (b *specBuilder) dataloader(path string, isTrain bool) (*train.Data, error) {
	var dc dataloaderCfg
	ok, err := b.decode(path, &dc)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, b.bad(path, "missing")
	}
	if dc.BatchSize == nil {
		return nil, b.bad(path+".batch_size", "missing")
	}
	if *dc.BatchSize <= 0 {
		return nil, b.bad(path+".batch_size", "must be a positive integer, got %d", *dc.BatchSize)
	}
	d := &train.Data{BatchSize: *dc.BatchSize, NumWorkers: 1}
	if dc.NumWorkers != nil {
		if *dc.NumWorkers < 0 {
			return nil, b.bad(path+".num_workers", "must not be negative, got %d", *dc.NumWorkers)
		}
		d.NumWorkers = max(1, *dc.NumWorkers)
	}
	if dc.DropLast != nil && *dc.DropLast {
		return nil, b.unsupported(path+".drop_last", "True (the last, smaller batch is kept)")
	}
	if len(dc.BatchSampler) > 0 && string(dc.BatchSampler) != "null" {
		return nil, b.unsupported(path+".batch_sampler", "set")
	}
	if c := dc.CollateFn; c != nil && c.Type != "default_collate" && c.Type != "pseudo_collate" {
		return nil, b.unsupported(path+".collate_fn.type", "%q (default_collate, pseudo_collate)", c.Type)
	}
	if s := dc.Sampler; s != nil {
		if s.Type != "DefaultSampler" {
			return nil, b.unsupported(path+".sampler.type", "%q (DefaultSampler)", s.Type)
		}
		d.Shuffle = s.Shuffle == nil || *s.Shuffle
		d.Seed = s.Seed
	} else if isTrain {
		return nil, b.bad(path+".sampler", "missing (mmengine's DataLoader needs one: dict(type='DefaultSampler', shuffle=True))")
	}
	if d.Dataset, err = Dataset(b.cfg, path+".dataset", ""); err != nil {
		return nil, err
	}
	if d.Pipeline, err = Pipeline(b.cfg, path+".dataset.pipeline", b.reg); err != nil {
		return nil, err
	}
	if len(d.Dataset.Samples) == 0 {
		return nil, b.bad(path+".dataset", "has no samples")
	}
	return d, nil
}
