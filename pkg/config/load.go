// Package config reads OpenMMLab (mmengine) Python config files with the
// semantics of mmengine's Config.fromfile, evaluating them with Starlark.
//
// Supported: `_base_` (a string or a list; paths relative to the file, or
// "mmpretrain::path" for the embedded tree), recursive bases, the
// duplicate-key check among bases, mmengine's merge (dicts merge key by key,
// anything else replaces, `_delete_=True` drops the base dict), key order
// (base keys first, then new keys in order of definition), reading and
// assigning the merged bases through `_base_` with ConfigDict semantics
// (attribute access; assigned dicts and lists are copied), `import copy` /
// `import math`, copy.deepcopy, round() (half-even, int result), sum(),
// `{{ fileDirname }}`-style predefined variables and `{{ _base_.a.b }}`
// substitution. Modules, functions and names starting with "__" are
// dropped; every other top-level variable becomes a key.
//
// The Python subset is Starlark's (go.starlark.net) plus those additions;
// other Python-only syntax (class, try, `is`, `**`, f-strings, lazy
// `from ... import` configs) is an *Error naming the file and line.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/mobileone-go/mobileone/configs"
	"github.com/mobileone-go/mobileone/internal/readfile"
)

// Config is an evaluated config file.
type Config struct {
	// Filename is the path the config was loaded from: a file system path,
	// or "configs/<path>" for a file of the embedded tree.
	Filename string
	// Dict is the merged result, equal to mmengine's Config.to_dict().
	Dict *Dict
	// Text is the source text of the top file.
	Text string
}

// maxSteps bounds the Starlark steps of one file so that a config with an
// endless loop fails instead of hanging.
const maxSteps = 2_000_000

// maxBaseDepth bounds the _base_ chain.
const maxBaseDepth = 64

// reservedKeys may not be config keys (mmengine's Config.RESERVED_KEYS).
var reservedKeys = []string{"filename", "text", "pretty_text", "env_variables"}

const (
	baseKey        = "_base_"
	maxConfigBytes = 16 << 20 // a config file is text: a few KB
	deleteKey      = "_delete_"
	deprecationKey = "_deprecation_"
	// renamedBase replaces the `_base_` name on the left of the file's
	// `_base_ = [...]` statement, so the statement no longer rebinds the
	// merged bases. It has the same length, so columns do not move, and
	// starts with "__", so it is dropped from the result.
	renamedBase = "__bf__"
	baseGetFn   = "__base_get__"
)

var fileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
}

// ref names a config file, either on the OS file system (fsys nil) or in
// the embedded tree.
type ref struct {
	fsys fs.FS
	path string
}

func (r ref) display() string {
	if r.fsys != nil {
		return "configs/" + r.path
	}
	return r.path
}

func (r ref) read() ([]byte, error) {
	if r.fsys != nil {
		return fs.ReadFile(r.fsys, r.path)
	}
	return readfile.ReadText(r.path, maxConfigBytes)
}

// resolve returns the ref of a _base_ entry written in r.
func (r ref) resolve(p string) (ref, error) {
	if rest, ok := strings.CutPrefix(p, "mmpretrain::"); ok {
		return embeddedRef(rest)
	}
	if strings.Contains(p, "::") {
		return ref{}, fmt.Errorf("unsupported package scope in %q (only mmpretrain:: is known)", p)
	}
	if r.fsys != nil {
		if path.IsAbs(p) {
			return ref{}, fmt.Errorf("absolute _base_ path %q in an embedded config", p)
		}
		return embeddedRef(path.Join(path.Dir(r.path), p))
	}
	if filepath.IsAbs(p) {
		return ref{path: filepath.Clean(p)}, nil
	}
	return ref{path: filepath.Join(filepath.Dir(r.path), filepath.FromSlash(p))}, nil
}

func embeddedRef(p string) (ref, error) {
	p = path.Clean(strings.TrimPrefix(p, "/"))
	if !fs.ValidPath(p) || p == "." {
		return ref{}, fmt.Errorf("path %q is outside the embedded config tree", p)
	}
	return ref{fsys: configs.FS, path: p}, nil
}

// BuiltinNames returns the names of the embedded MobileOne configs (file
// names without ".py", e.g. "mobileone-s0_8xb32_in1k"), sorted.
func BuiltinNames() []string {
	var names []string
	_ = fs.WalkDir(configs.FS, "mobileone", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".py") {
			names = append(names, strings.TrimSuffix(path.Base(p), ".py"))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// builtinRef finds name among the embedded configs: a built-in name with
// or without ".py", or a path inside the tree with or without a leading
// "configs/".
func builtinRef(name string) (ref, bool) {
	p := strings.TrimPrefix(filepath.ToSlash(name), "./")
	p = strings.TrimPrefix(p, "configs/")
	if fs.ValidPath(p) {
		if st, err := fs.Stat(configs.FS, p); err == nil && !st.IsDir() {
			return ref{fsys: configs.FS, path: p}, true
		}
	}
	base := strings.TrimSuffix(name, ".py")
	if strings.ContainsAny(base, `/\`) {
		return ref{}, false
	}
	var found ref
	var ok bool
	_ = fs.WalkDir(configs.FS, "mobileone", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Base(p) == base+".py" {
			found, ok = ref{fsys: configs.FS, path: p}, true
			return fs.SkipAll
		}
		return nil
	})
	return found, ok
}

// Load reads a config file from disk, or, when no such file exists, a
// built-in config by name ("mobileone-s0_8xb32_in1k",
// "mobileone-s0_deploy_8xb32_in1k") or by its path in the tree
// ("configs/mobileone/mobileone-s0_8xb32_in1k.py").
func Load(nameOrPath string) (*Config, error) {
	if st, err := os.Stat(nameOrPath); err == nil && !st.IsDir() {
		return loadRef(ref{path: nameOrPath}, nil)
	}
	if r, ok := builtinRef(nameOrPath); ok {
		return loadRef(r, nil)
	}
	return nil, &Error{File: nameOrPath, Msg: "no such config file or built-in config name (built-in: " + strings.Join(BuiltinNames(), ", ") + ")", Err: fs.ErrNotExist}
}

// LoadBytes evaluates src as the config file filename. Relative _base_
// paths are resolved against filename's directory on disk.
func LoadBytes(filename string, src []byte) (*Config, error) {
	return loadRef(ref{path: filename}, src)
}

func loadRef(r ref, src []byte) (cfg *Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			cfg, err = nil, &Error{File: r.display(), Msg: fmt.Sprintf("internal error: %v", p)}
		}
	}()
	if src == nil {
		b, err := r.read()
		if err != nil {
			return nil, &Error{File: r.display(), Msg: "cannot read config: " + errMsg(err), Err: err}
		}
		src = b
	}
	l := &loader{}
	d, err := l.file(r, src)
	if err != nil {
		return nil, err
	}
	for _, k := range reservedKeys {
		if _, ok := d.Get(k); ok {
			return nil, &Error{File: r.display(), Msg: fmt.Sprintf("%s is reserved for config file", k)}
		}
	}
	return &Config{Filename: r.display(), Dict: DeepCopy(d).(*Dict), Text: string(src)}, nil
}

func errMsg(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

type loader struct {
	stack []string // files being loaded, outermost first
}

var (
	importRE     = regexp.MustCompile(`^([ \t]*)import[ \t]+([A-Za-z_][\w.]*(?:[ \t]+as[ \t]+[A-Za-z_]\w*)?(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+[A-Za-z_]\w*)?)*)[ \t]*(;?[ \t]*(?:#.*)?)$`)
	fromImportRE = regexp.MustCompile(`^[ \t]*from[ \t]+[\w.]+[ \t]+import\b`)
	baseVarRE    = regexp.MustCompile(`\{\{\s*_base_\.([\w.]+)\s*\}\}`)
)

// preprocess applies mmengine's text substitutions and turns `import`
// statements into `pass`, keeping every line where it was. It returns
// the modules to predeclare.
func preprocess(r ref, src string) (string, map[string]starlark.Value, error) {
	var dir, base string
	if r.fsys != nil {
		dir, base = "configs/"+path.Dir(r.path), path.Base(r.path)
	} else {
		abs, err := filepath.Abs(r.path)
		if err != nil {
			abs = r.path
		}
		dir, base = filepath.ToSlash(filepath.Dir(abs)), filepath.Base(abs)
	}
	ext := path.Ext(base)
	for k, v := range map[string]string{
		"fileDirname":             dir,
		"fileBasename":            base,
		"fileBasenameNoExtension": strings.TrimSuffix(base, ext),
		"fileExtname":             ext,
	} {
		re := regexp.MustCompile(`\{\{\s*` + k + `\s*\}\}`)
		src = re.ReplaceAllLiteralString(src, v)
	}
	src = baseVarRE.ReplaceAllString(src, baseGetFn+`("$1")`)

	known := modules()
	mods := map[string]starlark.Value{}
	lines := strings.Split(src, "\n")
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if fromImportRE.MatchString(line) {
			return "", nil, &Error{File: r.display(), Line: i + 1, Msg: "from-imports are not supported (lazy-import configs cannot be read)"}
		}
		m := importRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, item := range strings.Split(m[2], ",") {
			f := strings.Fields(item)
			mod, bind := f[0], f[0]
			if len(f) == 3 {
				bind = f[2]
			}
			v, ok := known[mod]
			if !ok {
				return "", nil, &Error{File: r.display(), Line: i + 1, Msg: fmt.Sprintf("import of module %q is not supported (supported: copy, math)", mod)}
			}
			mods[bind] = v
		}
		lines[i] = m[1] + "pass" + m[3]
	}
	return strings.Join(lines, "\n"), mods, nil
}

// baseStmt is one `_base_ = ...` statement.
type baseStmt struct {
	line  int
	files []string
}

// findBases parses src, evaluates the right-hand side of every top-level
// `_base_ = ...` and renames its target so that executing the file does
// not rebind _base_.
func findBases(display, src string) (string, []baseStmt, error) {
	f, err := syntax.Parse(display, src, 0)
	if err != nil {
		return "", nil, wrapStarlarkErr(display, err)
	}
	var stmts []baseStmt
	var idents []*syntax.Ident
	for _, s := range f.Stmts {
		as, ok := s.(*syntax.AssignStmt)
		if !ok || as.Op != syntax.EQ {
			continue
		}
		id, ok := as.LHS.(*syntax.Ident)
		if !ok || id.Name != baseKey {
			continue
		}
		line := int(id.NamePos.Line)
		thread := &starlark.Thread{Name: display}
		thread.SetMaxExecutionSteps(100000)
		v, err := starlark.EvalExprOptions(fileOptions, thread, as.RHS, nil)
		if err != nil {
			return "", nil, &Error{File: display, Line: line, Msg: "cannot evaluate _base_: " + err.Error(), Err: err}
		}
		var files []string
		switch x := v.(type) {
		case starlark.String:
			files = []string{string(x)}
		case *starlark.List, starlark.Tuple:
			it := x.(starlark.Iterable).Iterate()
			var e starlark.Value
			for it.Next(&e) {
				s, ok := e.(starlark.String)
				if !ok {
					it.Done()
					return "", nil, errorf(display, line, "_base_ entries must be strings, got %s", e.Type())
				}
				files = append(files, string(s))
			}
			it.Done()
		default:
			return "", nil, errorf(display, line, "_base_ must be a string or a list of strings, got %s", v.Type())
		}
		stmts = append(stmts, baseStmt{line: line, files: files})
		idents = append(idents, id)
	}
	if len(idents) == 0 {
		return src, nil, nil
	}
	lines := strings.SplitAfter(src, "\n")
	for _, id := range idents {
		li, col := int(id.NamePos.Line)-1, int(id.NamePos.Col)-1
		if li < 0 || li >= len(lines) || col < 0 {
			continue
		}
		ln := lines[li]
		off := 0
		for n := 0; n < col && off < len(ln); n++ {
			_, size := utf8.DecodeRuneInString(ln[off:])
			off += size
		}
		if strings.HasPrefix(ln[off:], baseKey) {
			lines[li] = ln[:off] + renamedBase + ln[off+len(baseKey):]
		}
	}
	return strings.Join(lines, ""), stmts, nil
}

// bases loads and combines the _base_ files of a config; a key in two
// bases is an error.
func (l *loader) bases(r ref, display string, bases []baseStmt) (*Dict, error) {
	base := NewDict()
	seenIn := map[string]string{}
	for _, bs := range bases {
		for _, bf := range bs.files {
			if !isConfigFile(bf) {
				return nil, errorf(display, bs.line, "_base_ file %q: only .py, .json and .yaml configs are supported", bf)
			}
			br, err := r.resolve(bf)
			if err != nil {
				return nil, errorf(display, bs.line, "bad _base_ path: %v", err)
			}
			data, err := br.read()
			if err != nil {
				return nil, &Error{File: display, Line: bs.line, Msg: fmt.Sprintf("bad _base_ path %q: cannot read %s: %s", bf, br.display(), errMsg(err)), Err: err}
			}
			d, err := l.file(br, data)
			if err != nil {
				return nil, err
			}
			var dup []string
			for _, k := range d.keys {
				if _, ok := base.Get(k); ok {
					dup = append(dup, k)
				}
			}
			if len(dup) > 0 {
				return nil, errorf(display, bs.line, "Duplicate key is not allowed among bases. Duplicate keys: %s (in %s and %s)", strings.Join(dup, ", "), seenIn[dup[0]], bf)
			}
			for _, k := range d.keys {
				base.Set(k, d.m[k])
				seenIn[k] = bf
			}
		}
	}

	return base, nil
}

// dataFile loads a .json or .yaml config: its _base_ entry (a file name or
// a list of them) is loaded as in a .py config, and its keys are merged
// into the bases.
func (l *loader) dataFile(r ref, display string, raw []byte) (*Dict, error) {
	own, err := parseData(display, raw)
	if err != nil {
		return nil, err
	}
	files, err := dataBases(display, own)
	if err != nil {
		return nil, err
	}
	var stmts []baseStmt
	if files != nil {
		stmts = []baseStmt{{files: files}}
	}
	base, err := l.bases(r, display, stmts)
	if err != nil {
		return nil, err
	}
	merged, err := mergeInto(own, base, false)
	if err != nil {
		var me *mergeError
		if errors.As(err, &me) {
			return nil, errorf(display, 0, "%s", me.msg)
		}
		return nil, errorf(display, 0, "%v", err)
	}
	return merged.(*Dict), nil
}

// file evaluates one config file and returns its merged dict.
func (l *loader) file(r ref, raw []byte) (*Dict, error) {
	display := r.display()
	if len(l.stack) >= maxBaseDepth {
		return nil, errorf(display, 0, "_base_ chain deeper than %d files", maxBaseDepth)
	}
	id := display
	if r.fsys == nil {
		if abs, err := filepath.Abs(r.path); err == nil {
			id = abs
		}
	}
	for _, s := range l.stack {
		if s == id {
			return nil, errorf(display, 0, "_base_ cycle: %s", strings.Join(append(l.stack, id), " -> "))
		}
	}
	l.stack = append(l.stack, id)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()

	if !utf8.Valid(raw) {
		return nil, errorf(display, 0, "config is not valid UTF-8")
	}
	if isDataFile(r.path) {
		return l.dataFile(r, display, raw)
	}
	src, mods, err := preprocess(r, string(raw))
	if err != nil {
		return nil, err
	}
	src, bases, err := findBases(display, src)
	if err != nil {
		return nil, err
	}
	base, err := l.bases(r, display, bases)
	if err != nil {
		return nil, err
	}

	baseSL := toStarlark(base).(*cfgDict)
	predeclared := starlark.StringDict{
		baseKey: baseSL,
		"round": starlark.NewBuiltin("round", pyRound),
		"sum":   starlark.NewBuiltin("sum", pySum),
		baseGetFn: starlark.NewBuiltin(baseGetFn, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var p string
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &p); err != nil {
				return nil, err
			}
			v, ok := getPath(base, p)
			if !ok {
				return nil, fmt.Errorf("{{ _base_.%s }}: no such key in the bases", p)
			}
			return toStarlark(DeepCopy(v)), nil
		}),
	}
	for k, v := range mods {
		predeclared[k] = v
	}

	f, prog, err := starlark.SourceProgramOptions(fileOptions, display, src, predeclared.Has)
	if err != nil {
		return nil, wrapStarlarkErr(display, err)
	}
	thread := &starlark.Thread{
		Name: display,
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, errors.New("load() is not supported in config files")
		},
		Print: func(*starlark.Thread, string) {},
	}
	thread.SetMaxExecutionSteps(maxSteps)
	globals, err := prog.Init(thread, predeclared)
	if err != nil {
		return nil, wrapStarlarkErr(display, err)
	}

	// The bases as the file left them (it may assign into _base_).
	baseAfter, err := fromStarlark(baseSL, 0)
	if err != nil {
		return nil, errorf(display, 0, "_base_: %v", err)
	}

	own := NewDict()
	for _, id := range boundNames(f) {
		name := id.Name
		v, ok := globals[name]
		if !ok || strings.HasPrefix(name, "__") || name == deprecationKey || isDroppable(v) {
			continue
		}
		if _, done := own.Get(name); done {
			continue
		}
		gv, err := fromStarlark(v, 0)
		if err != nil {
			return nil, errorf(display, int(id.NamePos.Line), "%s: %v", name, err)
		}
		own.Set(name, gv)
	}
	merged, err := mergeInto(own, baseAfter, false)
	if err != nil {
		var me *mergeError
		if errors.As(err, &me) {
			return nil, errorf(display, 0, "%s", me.msg)
		}
		return nil, errorf(display, 0, "%v", err)
	}
	return merged.(*Dict), nil
}

// boundNames lists the identifiers bound at top level, in source order
// (first binding first), which is the order the resolver gives globals
// and, for straight-line configs, the insertion order of Python's globals.
func boundNames(f *syntax.File) []*syntax.Ident {
	var out []*syntax.Ident
	seen := map[string]bool{}
	add := func(id *syntax.Ident) {
		if !seen[id.Name] {
			seen[id.Name] = true
			out = append(out, id)
		}
	}
	var lhs func(e syntax.Expr)
	lhs = func(e syntax.Expr) {
		switch x := e.(type) {
		case *syntax.Ident:
			add(x)
		case *syntax.TupleExpr:
			for _, e := range x.List {
				lhs(e)
			}
		case *syntax.ListExpr:
			for _, e := range x.List {
				lhs(e)
			}
		case *syntax.ParenExpr:
			lhs(x.X)
		}
	}
	var stmts func([]syntax.Stmt)
	stmts = func(ss []syntax.Stmt) {
		for _, s := range ss {
			switch x := s.(type) {
			case *syntax.AssignStmt:
				lhs(x.LHS)
			case *syntax.DefStmt:
				add(x.Name)
			case *syntax.ForStmt:
				lhs(x.Vars)
				stmts(x.Body)
			case *syntax.WhileStmt:
				stmts(x.Body)
			case *syntax.IfStmt:
				stmts(x.True)
				stmts(x.False)
			case *syntax.LoadStmt:
				for _, id := range x.To {
					add(id)
				}
			}
		}
	}
	stmts(f.Stmts)
	return out
}
