package cmdutil

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress shows a progress bar with images/s and the ETA when stderr is
// a terminal, and otherwise mmengine-style log lines about every tenth of
// the run.
type Progress struct {
	w        io.Writer
	name     string // the bar's label and the log lines' Epoch(name)
	bar      *progressbar.ProgressBar
	images   int
	batch    int
	batches  int
	interval int // images between log lines
	next     int
}

func NewProgress(ios *IOStreams, name string, images, batch, batches int) *Progress {
	p := &Progress{w: ios.ErrOut, name: name, images: images, batch: batch, batches: batches}
	p.interval = max(batch, (batches+9)/10*batch)
	p.next = p.interval
	if ios.IsStderrTTY() {
		p.bar = progressbar.NewOptions(images, progressbar.OptionSetWriter(ios.ErrOut), progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

// Update is evaluate's Progress callback: done samples (evaluated or
// skipped) so far.
func (p *Progress) Update(done int, elapsed, dataTime time.Duration) {
	if p.bar != nil {
		_ = p.bar.Set(min(done, p.images))
		return
	}
	if done < p.next && done < p.images {
		return
	}
	for p.next <= done {
		p.next += p.interval
	}
	iters := (done + p.batch - 1) / p.batch
	per := elapsed.Seconds() / float64(iters)
	eta := time.Duration(elapsed.Seconds() / float64(done) * float64(p.images-done) * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(p.w, "Epoch(%s) [%d/%d]    eta: %s  time: %.4f  data_time: %.4f  %.1f images/s\n", p.name, iters, p.batches, eta, per,
		dataTime.Seconds()/float64(iters), float64(done)/elapsed.Seconds())
}

// Finish clears the bar.
func (p *Progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
