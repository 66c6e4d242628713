// Package logs reads mmengine's scalar logs (`<timestamp>/vis_data/scalars.json`,
// one JSON object per line, as mmengine's LocalVisBackend and `mobileone train`
// write them) and computes what mmpretrain's tools/analysis_tools/analyze_logs.py
// computes from them: the curves of a key and the training-time statistics.
package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Record is one line of the log: key to value (step, epoch, iter, lr, loss,
// time, accuracy/top1, ...).
type Record map[string]float64

// Log is a scalar log split as mmpretrain.utils.load_json_log splits it: a
// line with an "lr" key is a training record, any other a validation one.
type Log struct {
	Path       string
	Train, Val []Record
}

// FormatError reports a log file that is not a JSON-lines scalar log.
type FormatError struct {
	Path string
	Line int
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("logs: %s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("logs: %s: %s", e.Path, e.Msg)
}

// Load reads a scalar log. Empty lines are skipped; NaN and ±Infinity (which
// Python's json module writes) are read as such; a value that is not a number
// is an error naming the line and key.
func Load(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	lg := &Log{Path: path}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec, err := parseLine(line)
		if err != nil {
			return nil, &FormatError{Path: path, Line: n, Msg: err.Error()}
		}
		if _, ok := rec["lr"]; ok {
			lg.Train = append(lg.Train, rec)
		} else {
			lg.Val = append(lg.Val, rec)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &FormatError{Path: path, Msg: err.Error()}
	}
	if len(lg.Train) == 0 && len(lg.Val) == 0 {
		return nil, &FormatError{Path: path, Msg: "no records"}
	}
	return lg, nil
}

func parseLine(line []byte) (Record, error) {
	var raw map[string]any
	d := json.NewDecoder(bytes.NewReader(pythonFloats(line)))
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if d.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	rec := make(Record, len(raw))
	for k, v := range raw {
		switch x := v.(type) {
		case float64:
			rec[k] = x
		case string:
			if !isPyFloatMarker(x) {
				return nil, fmt.Errorf("key %q: value %q is not a number", k, x)
			}
			f, _ := strconv.ParseFloat(x, 64)
			rec[k] = f
		default:
			return nil, fmt.Errorf("key %q: value %v is not a number", k, v)
		}
	}
	return rec, nil
}

// pythonFloats rewrites the bare NaN, Infinity and -Infinity tokens that
// Python's json.dumps writes into the strings "NaN", "+Inf" and "-Inf",
// leaving string contents alone.
func pythonFloats(line []byte) []byte {
	if !bytes.Contains(line, []byte("NaN")) && !bytes.Contains(line, []byte("Infinity")) {
		return line
	}
	var out []byte
	inStr := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if inStr {
			out = append(out, c)
			if c == '\\' && i+1 < len(line) {
				i++
				out = append(out, line[i])
			} else if c == '"' {
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			inStr = true
			out = append(out, c)
		case bytes.HasPrefix(line[i:], []byte("NaN")):
			out = append(out, `"NaN"`...)
			i += 2
		case bytes.HasPrefix(line[i:], []byte("-Infinity")):
			out = append(out, `"-Inf"`...)
			i += 8
		case bytes.HasPrefix(line[i:], []byte("Infinity")):
			out = append(out, `"+Inf"`...)
			i += 7
		default:
			out = append(out, c)
		}
	}
	return out
}

// isPyFloatMarker tells whether s is one of the strings pythonFloats writes.
func isPyFloatMarker(s string) bool { return s == "NaN" || s == "+Inf" || s == "-Inf" }

// Keys returns the keys of the training and of the validation records, as
// analyze_logs.py takes them: the first record's keys without step (and
// epoch for training), sorted.
func (l *Log) Keys() (train, val []string) {
	if len(l.Train) > 0 {
		train = keysOf(l.Train[0], "step", "epoch")
	}
	if len(l.Val) > 0 {
		val = keysOf(l.Val[0], "step")
	}
	return train, val
}

func keysOf(r Record, drop ...string) []string {
	var ks []string
outer:
	for k := range r {
		for _, d := range drop {
			if k == d {
				continue outer
			}
		}
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Curve is the points of one key, with the x axis label analyze_logs.py
// gives it.
type Curve struct {
	X, Y   []float64
	XLabel string
}

// KeyError reports a key that the log does not have.
type KeyError struct {
	Path, Key string
	Choices   []string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("logs: %s: invalid key %q, please choose from %s", e.Path, e.Key, strings.Join(e.Choices, ", "))
}

// Curve returns the curve of key as analyze_logs.py's plot_curve_helper
// draws it. A validation key (looked up first) is plotted against "step"
// ("Steps": the epoch for epoch-based runs, the iteration otherwise). A
// training key is plotted against the iteration, divided by the iterations
// per epoch (last step / last epoch) when the records carry "epoch"
// ("Epochs"), else as is ("Iters"). Records without the key are skipped.
func (l *Log) Curve(key string) (Curve, error) {
	trainKeys, valKeys := l.Keys()
	if contains(valKeys, key) {
		c := Curve{XLabel: "Steps"}
		for _, r := range l.Val {
			if y, ok := r[key]; ok {
				c.X, c.Y = append(c.X, r["step"]), append(c.Y, y)
			}
		}
		return c, nil
	}
	if !contains(trainKeys, key) {
		choices := append(append([]string(nil), trainKeys...), valKeys...)
		sort.Strings(choices)
		return Curve{}, &KeyError{Path: l.Path, Key: key, Choices: dedup(choices)}
	}
	c := Curve{XLabel: "Iters"}
	scale := 1.0
	if _, ok := l.Train[0]["epoch"]; ok {
		last := l.Train[len(l.Train)-1]
		if last["epoch"] == 0 {
			return Curve{}, &FormatError{Path: l.Path, Msg: "last training record has epoch 0"}
		}
		scale = last["step"] / last["epoch"]
		c.XLabel = "Epochs"
	}
	for _, r := range l.Train {
		if y, ok := r[key]; ok {
			c.X, c.Y = append(c.X, r["step"]/scale), append(c.Y, y)
		}
	}
	return c, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func dedup(ss []string) []string {
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// LegendName is analyze_logs.py's default legend entry for key of the log at
// path: the file name without ".json" (and without a further ".log"), "_",
// the key.
func LegendName(path, key string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".json")
	base = strings.TrimSuffix(base, ".log")
	return base + "_" + key
}
