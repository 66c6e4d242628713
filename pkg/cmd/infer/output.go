package infer

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mobileone-go/mobileone/internal/atomicfile"
	"github.com/mobileone-go/mobileone/pkg/cmdutil"
	"github.com/mobileone-go/mobileone/pkg/imagenet"
	"github.com/mobileone-go/mobileone/pkg/predict"
	"github.com/mobileone-go/mobileone/pkg/setup"
	"github.com/mobileone-go/mobileone/pkg/visual"
)

// outFormat is the --out format by extension, or "".
func outFormat(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "json"
	case ".jsonl":
		return "jsonl"
	case ".csv":
		return "csv"
	}
	return ""
}

// jsonArray writes results as one JSON array, element by element, with
// the layout of json.MarshalIndent(results, "", "  ").
type jsonArray struct {
	w io.Writer
	n int
}

func (a *jsonArray) add(r Result) error {
	b, err := json.MarshalIndent(r, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if a.n == 0 {
		sep = "[\n  "
	}
	a.n++
	_, err = fmt.Fprintf(a.w, "%s%s", sep, b)
	return err
}

func (a *jsonArray) close() error {
	end := "\n]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}

// sink writes --out.
type sink struct {
	format string
	w      io.Writer
	arr    *jsonArray
	csv    *csv.Writer
	topK   int
}

func newSink(path string, w io.Writer) *sink {
	s := &sink{format: outFormat(path), w: w}
	switch s.format {
	case "json":
		s.arr = &jsonArray{w: w}
	case "csv":
		s.csv = csv.NewWriter(w)
	}
	return s
}

func (s *sink) add(r Result) error {
	switch s.format {
	case "json":
		return s.arr.add(r)
	case "jsonl":
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(s.w, "%s\n", b)
		return err
	}
	if s.topK == 0 { // header: image, the prediction, then each top-k entry
		s.topK = len(r.TopK)
		head := []string{"image", "pred_label", "pred_score", "pred_class"}
		for i := 1; i <= s.topK; i++ {
			head = append(head, fmt.Sprintf("top%d_label", i), fmt.Sprintf("top%d_score", i), fmt.Sprintf("top%d_class", i))
		}
		if err := s.csv.Write(head); err != nil {
			return err
		}
	}
	row := []string{r.Image, strconv.Itoa(r.PredLabel), fmtScore(r.PredScore), r.PredClass}
	for _, c := range r.TopK {
		row = append(row, strconv.Itoa(c.Label), fmtScore(c.Score), c.Class)
	}
	return s.csv.Write(row)
}

func (s *sink) close() error {
	switch s.format {
	case "json":
		return s.arr.close()
	case "csv":
		s.csv.Flush()
		return s.csv.Error()
	}
	return nil
}

func fmtScore(s float32) string { return strconv.FormatFloat(float64(s), 'f', 6, 32) }

// job is one infer run: the loaded model and where its results go.
type job struct {
	opts    *Options
	sources []predict.Source
	run     func(ctx context.Context, o predict.StreamOptions) (int, error)
	// decode reads an image for the pipeline, decodeFull for --show-dir.
	decode, decodeFull func(string) (*imagenet.Image, error)
	stdout             *jsonArray // --json
	failed             []error
	// with --launcher: collect takes the results instead of printing
	// them; failedSrc are the images of failed
	collect   func(src predict.Source, r Result) error
	failedSrc []predict.Source
}

func newJob(ctx context.Context, opts *Options, sources []predict.Source) (*job, error) {
	cfg, mc, err := setup.Load(opts.Config, opts.CfgOptions)
	if err != nil {
		return nil, err
	}
	ckpt := opts.Checkpoint
	if ckpt == "" {
		if ckpt = setup.OfficialCheckpoint(opts.Config); ckpt == "" {
			return nil, cmdutil.FlagErrorf("no official checkpoint is known for config %s: pass one with --checkpoint", opts.Config)
		}
	}
	pipe, err := setup.Pipeline(cfg, "test_dataloader.dataset.pipeline", nil)
	if err != nil {
		return nil, err
	}
	norm, err := setup.Normalizer(cfg)
	if err != nil {
		return nil, err
	}
	loaded, err := setup.LoadModel(ctx, mc, ckpt, opts.IO.ErrOut, opts.IO.ErrOut)
	if err != nil {
		return nil, err
	}
	pred := loaded.Model.NewPredictor()
	client := opts.HTTPClient()
	j := &job{opts: opts, sources: sources,
		decode: predict.Reader(ctx, client, pipe), decodeFull: predict.Reader(ctx, client, nil)}
	j.run = func(ctx context.Context, o predict.StreamOptions) (int, error) {
		return predict.Stream(ctx, pred, pipe, norm, loaded.Classes, sources, o)
	}
	return j, nil
}

// stream runs the job, printing each result as it comes and handing it to
// out (--out) and --show-dir.
func (j *job) stream(ctx context.Context, out *sink) error {
	opts := j.opts
	if opts.JSON {
		j.stdout = &jsonArray{w: opts.IO.Out}
	}
	batches := (len(j.sources) + opts.BatchSize - 1) / opts.BatchSize
	var progress *cmdutil.Progress
	if opts.IO.IsStderrTTY() {
		progress = cmdutil.NewProgress(opts.IO, "infer", len(j.sources), opts.BatchSize, batches)
		defer progress.Finish()
	}
	so := predict.StreamOptions{
		TopK: opts.TopK, BatchSize: opts.BatchSize, Workers: opts.Workers, Decode: j.decode, SkipInvalid: opts.SkipInvalid,
		OnResult: func(src predict.Source, r Result) error {
			if j.collect != nil { // a rank of --launcher: rank 0 prints
				return j.collect(src, r)
			}
			return j.result(src, r, out)
		},
		OnFailure: func(src predict.Source, err error) {
			j.failed = append(j.failed, err)
			j.failedSrc = append(j.failedSrc, src)
			fmt.Fprintf(opts.IO.ErrOut, "skipped: %v\n", err)
		},
		OnWarning: func(src predict.Source, msg string) {
			fmt.Fprintf(opts.IO.ErrOut, "warning: %s: %s\n", src.Path, msg)
		},
	}
	if progress != nil {
		so.Progress = progress.Update
	}
	_, err := j.run(ctx, so)
	if j.stdout != nil {
		if cerr := j.stdout.close(); err == nil {
			err = cerr
		}
	}
	if out != nil {
		if cerr := out.close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (j *job) result(src predict.Source, r Result, out *sink) error {
	opts := j.opts
	if j.stdout != nil {
		if err := j.stdout.add(r); err != nil {
			return err
		}
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n  pred_label: %d\n  pred_score: %s\n  pred_class: %s\n  top-%d:\n",
			r.Image, r.PredLabel, fmtScore(r.PredScore), r.PredClass, len(r.TopK))
		w := len(fmt.Sprint(len(r.TopK))) // ranks right-aligned: " 9." above "10."
		for i, c := range r.TopK {
			fmt.Fprintf(&b, "    %*d. %-8s %-10s %s\n", w, i+1, fmt.Sprint(c.Label), fmtScore(c.Score), c.Class)
		}
		if _, err := io.WriteString(opts.IO.Out, b.String()); err != nil {
			return err
		}
	}
	if out != nil {
		if err := out.add(r); err != nil {
			return err
		}
	}
	if opts.ShowDir != "" {
		return j.show(src, r)
	}
	return nil
}

// show writes --show-dir/<name>.png: the image with its predictions drawn
// (mmpretrain names it after the input's stem; inputs found in a folder
// keep their sub-folders, so that equal names do not collide).
func (j *job) show(src predict.Source, r Result) error {
	img, err := j.decodeFull(src.Path)
	if err != nil {
		return err
	}
	if j.opts.RescaleFactor > 0 {
		if img, err = visual.Rescale(img, j.opts.RescaleFactor); err != nil {
			return fmt.Errorf("%s: %w", src.Path, err)
		}
	}
	pic, err := predict.Annotate(img, r)
	if err != nil {
		return err
	}
	rel := strings.TrimSuffix(src.Rel, filepath.Ext(src.Rel)) + ".png"
	path := filepath.Join(j.opts.ShowDir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return predict.WritePNG(w, pic) })
}
