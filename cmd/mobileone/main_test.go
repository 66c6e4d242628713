package main

// End-to-end tests of the mobileone binary, in the style of cli/cli's
// acceptance tests: testscript runs testdata/script/*.txtar, where
// `exec mobileone ...` runs this test binary as the real command (root.Main,
// registered in TestMain), in a fresh $WORK directory per script.
//
// Scripts read the repository's fixtures through $REPO (the module root), so
// the demo configs keep their relative _base_ paths and nothing is copied.
// Besides testscript's built-in commands, scripts can use:
//
//	exits CODE PROG [ARGS...]   run PROG; fail unless it exits with CODE
//	ls DIR                      every file under DIR (recursively, dot files
//	                            included), one relative path per line, sorted
//	catglob PATTERN             print the one file matching PATTERN
//	jsonpath FILE PATH...       print each PATH's value in the JSON FILE
//	                            (or stdout/stderr), one per line
//	unpickle FILE OUT           decode the pickle FILE and write it as JSON
//	truncate SRC N DST          copy the first N bytes of SRC (N<0: all
//	                            but the last -N bytes)
//	mktar DST FILE...           write a tar archive holding the FILEs
//	cpdir SRC DST               copy the directory tree SRC to DST
//
// -short skips the slower parts (marked [short] in the scripts).
//
// Run: go test ./cmd/mobileone/ (add -run TestScripts/infer for one script,
// -testwork to keep the work directories).

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mobileone-go/mobileone/internal/fixtures"
	"github.com/mobileone-go/mobileone/pkg/checkpoint"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mobileone-go/mobileone/pkg/cmd/root"
)

func TestMain(m *testing.M) {
	// testscript.Main is RunMain's non-deprecated form: run as "mobileone",
	// this binary is the command; otherwise it runs the tests.
	testscript.Main(m, map[string]func(){
		"mobileone": func() { os.Exit(root.Main()) },
	})
}

func TestScripts(t *testing.T) {
	repo := fixtures.Root(t)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			// Never read or fill the user's torch hub cache.
			env.Setenv("TORCH_HOME", filepath.Join(env.WorkDir, ".torch"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"ls":       cmdLs,
			"catglob":  cmdCatglob,
			"jsonpath": cmdJSONPath,
			"unpickle": cmdUnpickle,
			"truncate": cmdTruncate,
			"mktar":    cmdMktar,
			"cpdir":    cmdCpdir,
		},
	})
}

func noNeg(ts *testscript.TestScript, neg bool, name string) {
	if neg {
		ts.Fatalf("unsupported: ! %s", name)
	}
}

// cmdExits runs a program like exec and checks its exact exit code (exec
// only tells zero from non-zero; usage errors must exit 2, others 1).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "exits")
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	prog, err := exec.LookPath(args[1])
	ts.Check(err)
	cmd := exec.Command(prog, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	// The test process's environment (its PATH holds the mobileone copy)
	// with the script's own variables on top.
	cmd.Env = os.Environ()
	for _, k := range []string{"HOME", "TMPDIR", "WORK", "REPO", "TORCH_HOME", "MOBILEONE_MEMORY_LIMIT"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

func cmdLs(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "ls")
	if len(args) != 1 {
		ts.Fatalf("usage: ls DIR")
	}
	root := ts.MkAbs(args[0])
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		names = append(names, filepath.ToSlash(rel))
		return err
	})
	ts.Check(err)
	slices.Sort(names)
	out := ts.Stdout() // even when empty: an empty listing replaces stdout
	for _, n := range names {
		fmt.Fprintln(out, n)
	}
}

func cmdCatglob(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "catglob")
	if len(args) != 1 {
		ts.Fatalf("usage: catglob PATTERN")
	}
	m, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(m) != 1 {
		ts.Fatalf("%s matches %d files, want 1: %q", args[0], len(m), m)
	}
	b, err := os.ReadFile(m[0])
	ts.Check(err)
	ts.Stdout().Write(b)
}

// cmdJSONPath prints values of a JSON document. A PATH is dot-separated
// object keys and array indexes ("0.topk.1.label"); "#" is the length of
// the array or object reached so far; "." alone is the whole document.
// Strings print JSON-quoted; numbers print as float32's shortest form, so
// that a float64 pickle value and a float32 JSON value of the same number
// print alike. The FILE must be valid JSON as a whole (a --json output with
// a log line mixed in fails); a file of several JSON values (JSON lines, as
// vis_data/scalars.json) reads as an array of them.
func cmdJSONPath(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "jsonpath")
	if len(args) < 2 {
		ts.Fatalf("usage: jsonpath FILE PATH...")
	}
	var docs []any
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(args[0])))
	dec.UseNumber()
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF && len(docs) > 0 {
			break
		}
		if err != nil {
			ts.Fatalf("%s: %v", args[0], err)
		}
		docs = append(docs, v)
	}
	var doc any = docs
	if len(docs) == 1 {
		doc = docs[0]
	}
	for _, path := range args[1:] {
		v, err := lookup(doc, path)
		if err != nil {
			ts.Fatalf("%s: %s: %v", args[0], path, err)
		}
		fmt.Fprintln(ts.Stdout(), formatJSON(v))
	}
}

func lookup(v any, path string) (any, error) {
	if path == "." {
		return v, nil
	}
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			if k == "#" {
				v = len(x)
				continue
			}
			e, ok := x[k]
			if !ok {
				return nil, fmt.Errorf("no key %q", k)
			}
			v = e
		case []any:
			if k == "#" {
				v = len(x)
				continue
			}
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("index %q out of range [0,%d)", k, len(x))
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("%q: not an object or array", k)
		}
	}
	return v, nil
}

func formatJSON(v any) string {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return formatFloat(f)
	case float64:
		return formatFloat(x)
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = formatJSON(e)
		}
		return "[" + strings.Join(s, ",") + "]"
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = strconv.Quote(k) + ":" + formatJSON(x[k])
		}
		return "{" + strings.Join(s, ",") + "}"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(float64(float32(f)), 'g', -1, 32)
}

// cmdUnpickle decodes a plain pickle (test --out x.pkl) with gopickle, an
// independent reader, and writes it as JSON for jsonpath.
func cmdUnpickle(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "unpickle")
	if len(args) != 2 {
		ts.Fatalf("usage: unpickle FILE OUT")
	}
	f, err := checkpoint.LoadPickle(ts.MkAbs(args[0]))
	if err != nil {
		ts.Fatalf("%v", err)
	}
	plain, err := plainPickle(f.Root)
	if err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	b, err := json.Marshal(plain)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o666))
}

// plainPickle turns pkg/checkpoint's values into JSON-marshalable ones: a
// tensor becomes the list of its values (float32 as float32, so that they
// print as in a JSON dump).
func plainPickle(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return x, nil
	case *checkpoint.Tensor:
		if x.DType.IsFloat() {
			return x.F32, nil
		}
		return x.I64, nil
	case checkpoint.List:
		return plainSlice(x)
	case checkpoint.Tuple:
		return plainSlice(x)
	case *checkpoint.Dict:
		out := map[string]any{}
		for _, e := range x.Items {
			ks, ok := e.Key.(string)
			if !ok {
				return nil, fmt.Errorf("dict key %v (%T) is not a string", e.Key, e.Key)
			}
			pe, err := plainPickle(e.Value)
			if err != nil {
				return nil, err
			}
			out[ks] = pe
		}
		return out, nil
	default:
		return nil, fmt.Errorf("not plain data: %T", v)
	}
}

func plainSlice(x []any) (any, error) {
	out := make([]any, len(x))
	for i, e := range x {
		pe, err := plainPickle(e)
		if err != nil {
			return nil, err
		}
		out[i] = pe
	}
	return out, nil
}

func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "truncate")
	if len(args) != 3 {
		ts.Fatalf("usage: truncate SRC N DST")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	if n < 0 {
		n += len(b)
	}
	if n < 0 || n > len(b) {
		ts.Fatalf("%s has %d bytes, cannot keep %s", args[0], len(b), args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), b[:n], 0o666))
}

func cmdMktar(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "mktar")
	if len(args) < 2 {
		ts.Fatalf("usage: mktar DST FILE...")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range args[1:] {
		b, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		ts.Check(tw.WriteHeader(&tar.Header{Name: filepath.Base(name), Mode: 0o644, Size: int64(len(b))}))
		_, err = tw.Write(b)
		ts.Check(err)
	}
	ts.Check(tw.Close())
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), buf.Bytes(), 0o666))
}

func cmdCpdir(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "cpdir")
	if len(args) != 2 {
		ts.Fatalf("usage: cpdir SRC DST")
	}
	ts.Check(os.CopyFS(ts.MkAbs(args[1]), os.DirFS(ts.MkAbs(args[0]))))
}

// binary returns the repository root, a fresh temporary directory and, in
// it, a "mobileone" symlink to this test binary, which TestMain
// (testscript.Main) runs as root.Main when called by that name: for tests
// that run the command as a separate process to signal it or measure it.
func binary(t *testing.T) (repo, dir, bin string) {
	t.Helper()
	repo = fixtures.Root(t)
	dir = t.TempDir()
	bin = filepath.Join(dir, "mobileone")
	if err := os.Symlink(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	return repo, dir, bin
}
