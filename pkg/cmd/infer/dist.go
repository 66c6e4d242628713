package infer

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/dist"
	"github.com/mobileone-go/mobileone/pkg/predict"
)

// runDist is infer with --launcher: each rank classifies the images
// DefaultSampler(round_up=False) deals it (and draws its --show-dir
// pictures); rank 0 collects every result and prints them, and writes
// --out, in input order once all are in.
func runDist(ctx context.Context, opts *Options, env dist.Env, sources []predict.Source) (err error) {
	group, err := dist.Join(ctx, env, dist.SharedDir(opts.WorkDir, env), opts.DistTimeout)
	if err != nil {
		return err
	}
	defer func() {
		if err == nil && env.Rank == 0 {
			_, err = group.Broadcast("finished", nil)
		}
		if cerr := group.Close(err); err == nil {
			err = cerr
		}
	}()
	ctx = group.Context()
	s := dist.Sampler{N: len(sources), Rank: env.Rank, WorldSize: env.WorldSize}
	idx := s.Indices()
	shard := make([]predict.Source, len(idx))
	pending := map[predict.Source][]int{} // input positions of each source, in order
	for i, k := range idx {
		shard[i] = sources[k]
		pending[sources[k]] = append(pending[sources[k]], k)
	}
	next := func(src predict.Source) int {
		k := pending[src][0]
		pending[src] = pending[src][1:]
		return k
	}
	fmt.Fprintf(opts.IO.ErrOut, "Rank %d of %d (--launcher %s): %d of the %d images\n", env.Rank, env.WorldSize, env.Launcher, len(shard), len(sources))
	job, err := newJob(ctx, opts, shard)
	if err != nil {
		return err
	}
	var mine []predict.Indexed
	job.collect = func(src predict.Source, r Result) error {
		mine = append(mine, predict.Indexed{Index: next(src), Result: r})
		if opts.ShowDir != "" {
			return job.show(src, r)
		}
		return nil
	}
	asJSON := opts.JSON
	opts.JSON = false // nothing is printed before rank 0 has every result
	err = job.stream(ctx, nil)
	opts.JSON = asJSON
	if err != nil {
		return cmdutil.DistError(ctx, err)
	}
	var fails []predict.Failure
	for i, src := range job.failedSrc {
		fails = append(fails, predict.Failure{Index: next(src), Err: job.failed[i].Error()})
	}
	all, failed, err := predict.Collect(group, mine, fails)
	if err != nil {
		return cmdutil.DistError(ctx, err)
	}
	if env.Rank != 0 {
		_, err = group.Broadcast("finished", nil)
		return err
	}
	// Rank 0 prints everything; the pictures are drawn already.
	job.collect, opts.ShowDir = nil, ""
	replay := func(out *sink) error {
		if opts.JSON {
			job.stdout = &jsonArray{w: opts.IO.Out}
		}
		for _, r := range all {
			if err := job.result(sources[r.Index], r.Result, out); err != nil {
				return err
			}
		}
		if job.stdout != nil {
			if err := job.stdout.close(); err != nil {
				return err
			}
		}
		if out != nil {
			return out.close()
		}
		return nil
	}
	if opts.Out == "" {
		err = replay(nil)
	} else {
		if err := os.MkdirAll(filepath.Dir(opts.Out), 0o755); err != nil {
			return err
		}
		err = atomicfile.WriteContext(ctx, opts.Out, func(w io.Writer) error { return replay(newSink(opts.Out, w)) })
		if err == nil {
			fmt.Fprintf(opts.IO.ErrOut, "results written to %s\n", opts.Out)
		}
	}
	if err != nil {
		return cmdutil.DistError(ctx, err)
	}
	if n := len(failed); n > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%d of %d images failed and were skipped:\n", n, len(sources))
		for _, f := range failed {
			fmt.Fprintf(opts.IO.ErrOut, "  %s\n", f.Err)
		}
		if opts.Strict {
			return cmdutil.ErrSilent
		}
	}
	return nil
}
