package linkwrap

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// This file reads a link command as its tool would, for the three things
// the wrapper needs from it: where the output goes, which files are the
// inputs (the first ELF one gives the target) and whether the link is a
// partial one (-r). The command itself is passed on unchanged; the reading
// only looks.

// quoting is how a tool splits a response file into arguments.
type quoting int

const (
	// gnuQuoting is libiberty's buildargv (gcc, collect2, GNU ld):
	// whitespace separates, '...' and "..." quote, a backslash escapes
	// the next character anywhere, and '' is an empty argument.
	gnuQuoting quoting = iota
	// llvmQuoting is LLVM's TokenizeGNUCommandLine (clang, ld.lld on
	// Unix): the same, except that an empty argument is dropped, a
	// backslash at the very end is itself, and a UTF-8 byte order mark
	// at the start of the file is skipped.
	llvmQuoting
)

// tokenize splits the text of a response file.
func tokenize(text string, q quoting) []string {
	if q == llvmQuoting {
		text = strings.TrimPrefix(text, "\uFEFF")
	}
	var args []string
	var tok strings.Builder
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i >= len(text) {
			return args
		}
		tok.Reset()
		var quote byte
		for ; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '\\' && (i+1 < len(text) || q == gnuQuoting):
				// GNU drops a backslash that ends the file; LLVM keeps it
				// (the condition above lets only GNU's through).
				i++
				if i < len(text) {
					tok.WriteByte(text[i])
				}
				continue
			case quote != 0:
				if c == quote {
					quote = 0
				} else {
					tok.WriteByte(c)
				}
				continue
			case c == '\'' || c == '"':
				quote = c
				continue
			case isSpace(c):
			default:
				tok.WriteByte(c)
				continue
			}
			break
		}
		if tok.Len() > 0 || q == gnuQuoting {
			args = append(args, tok.String())
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// maxResponseDepth bounds nested response files. GNU tools give up after
// a couple of thousand expansions, LLVM ones on the first cycle; past the
// bound, or on a cycle, the argument is left as it is and the tool
// reports the problem itself.
const maxResponseDepth = 32

// expandResponseFiles returns args with every @FILE replaced by the
// arguments in FILE, nested files included, as the tool expands them
// before it reads its options: an option at the end of a file takes its
// value from the argument after @FILE. A relative FILE is relative to the
// working directory, even inside another response file (GNU tools and
// LLVM 14); where it is not found there but beside the file that names
// it, which later LLVM tools read, that one is read. An @FILE that cannot
// be read stays as it is, as the tools leave it.
func expandResponseFiles(args []string, q quoting) []string {
	var out []string
	var walk func(args []string, stack []string)
	walk = func(args []string, stack []string) {
		for _, a := range args {
			name, ok := strings.CutPrefix(a, "@")
			if ok && name != "" && len(stack) < maxResponseDepth {
				if path, text, ok := readResponseFile(name, stack); ok && !slices.Contains(stack, path) {
					walk(tokenize(text, q), append(stack, path))
					continue
				}
			}
			out = append(out, a)
		}
	}
	walk(args, nil)
	return out
}

func readResponseFile(name string, stack []string) (path, text string, ok bool) {
	try := []string{name}
	if len(stack) > 0 && !filepath.IsAbs(name) {
		try = append(try, filepath.Join(filepath.Dir(stack[len(stack)-1]), name))
	}
	for _, p := range try {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p, string(data), true
	}
	return "", "", false
}

// command is what the wrapper reads from a link command.
type command struct {
	// outputs are where the link writes. A linker and most driver
	// commands name one file; a driver given both its own output and a
	// linker-level one (-Wl,-o,FILE) names two, and which the link
	// writes depends on the driver and the target (gcc, and clang for
	// Linux targets, pass theirs first and the linker takes the last
	// one; clang for bare-metal targets passes its own last): the
	// wrapper looks after the link at which one it wrote.
	outputs []string
	// inputs are the input files in command line order, response files
	// read: objects, archives, scripts, and for a driver sources too.
	inputs []string
	// partial is a partial link (-r and its spellings).
	partial bool
	// target is a driver's --target or -target.
	target string
	// dashdash is the index in the arguments of a driver's bare "--",
	// after which every argument is an input (clang), or -1.
	dashdash int
	// missing is a driver's own input file that does not exist: the
	// driver refuses the command before it runs the linker.
	missing string
}

// readCommand reads the arguments args of a link command run by a tool of
// kind k.
func readCommand(k kind, args []string) command {
	switch k {
	case gnuLD, lld:
		q := gnuQuoting
		if k == lld {
			q = llvmQuoting
		}
		l := readLinkerArgs(expandResponseFiles(args, q))
		c := command{inputs: l.inputs, partial: l.partial, dashdash: -1, outputs: []string{"a.out"}}
		if l.output != "" {
			c.outputs[0] = l.output
		}
		return c
	}
	return readDriverArgs(k, args)
}

// linkerArgs is what a linker's own arguments say.
type linkerArgs struct {
	output  string // the last -o and its spellings; "" without one
	inputs  []string
	partial bool
}

// readLinkerArgs reads a linker's arguments, response files already
// expanded. One reading serves GNU ld and ld.lld: where they differ, a
// spelling one of them takes and the other refuses fails the link before
// the wrapper looks at an output.
func readLinkerArgs(args []string) linkerArgs {
	var l linkerArgs
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--":
			// getopt's end of options (GNU ld): the rest are files.
			l.inputs = append(l.inputs, args[i+1:]...)
			return l
		case a == "-" || !strings.HasPrefix(a, "-"):
			if a != "-" {
				l.inputs = append(l.inputs, a)
			}
		case partialOption(a):
			l.partial = true
		case a == "-o":
			l.output = next()
		case !strings.HasPrefix(a, "--") && strings.HasPrefix(a, "-o"):
			// Both linkers read any single-dash option beginning with o
			// as -o joined to its file name (-omagic writes "magic").
			l.output = a[2:]
		case isOutputLong(a):
			if name, value, ok := strings.Cut(a, "="); ok && isOutputLong(name) {
				l.output = value
			} else {
				l.output = next()
			}
		default:
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && linkerValueOptions[name] {
				next()
			}
		}
	}
	return l
}

// partialOption is a linker option that makes the link a partial one: -r,
// --relocatable and -relocatable (both linkers), -Ur and -i (GNU ld), and
// GNU ld's unambiguous abbreviations of --relocatable down to --relo.
func partialOption(a string) bool {
	switch a {
	case "-r", "-i", "-Ur", "-relocatable", "--relocatable":
		return true
	}
	return len(a) >= len("--relo") && strings.HasPrefix("--relocatable", a)
}

// isOutputLong is --output, or GNU ld's abbreviations of it down to
// --outp (--out and --ou name --out-implib), with or without =FILE.
func isOutputLong(a string) bool {
	name, _, _ := strings.Cut(a, "=")
	return len(name) >= len("--outp") && strings.HasPrefix("--output", name)
}

// linkerValueOptions are the options of GNU ld and ld.lld that take their
// value as the next argument when not joined to it with "=", named without
// their dashes (either one or two). Reading past a value keeps it from
// being taken for an input file.
var linkerValueOptions = setOf(
	// single letters
	"A", "a", "b", "c", "e", "F", "f", "G", "h", "L", "l", "m", "O", "P", "R", "T", "u", "Y", "y", "z",
	// long options
	"architecture", "audit", "auxiliary", "call-graph-ordering-file", "default-script", "defsym",
	"depaudit", "dependency-file", "dT", "dynamic-linker", "dynamic-list", "entry", "error-limit",
	"exclude-libs", "export-dynamic-symbol", "filter", "fini", "format", "hash-style", "image-base",
	"init", "just-symbols", "library", "library-path", "Map", "mllvm", "oformat", "orphan-handling",
	"out-implib", "plugin", "plugin-opt", "require-defined", "retain-symbols-file", "rpath",
	"rpath-link", "script", "section-start", "soname", "sort-section", "symbol-ordering-file",
	"sysroot", "Tbss", "Tdata", "Tldata-segment", "trace-symbol", "Trodata-segment", "Ttext",
	"Ttext-segment", "undefined", "undefined-glob", "unresolved-symbols", "version-script", "wrap",
)

// driverValueOptions are compiler driver options (gcc, clang) that take
// the next argument as their value and do not concern the link.
var driverValueOptions = setOf(
	"-x", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-idirafter", "-iquote", "-iprefix",
	"-iwithprefix", "-iwithprefixbefore", "-isysroot", "-MF", "-MT", "-MQ", "-Xassembler",
	"-Xpreprocessor", "-Xclang", "-Xanalyzer", "-mllvm", "-arch", "--param", "-aux-info", "--sysroot",
	"-B", "-A", "-dumpdir", "-dumpbase", "-dumpbase-ext", "-Xopenmp-target",
)

// driverLinkerOptions are driver options whose value goes to the linker
// with them: -T SCRIPT, -e SYMBOL, -u SYMBOL, -z KEYWORD, -l LIB, -L DIR.
var driverLinkerOptions = setOf("-T", "-e", "-u", "-z", "-l", "-L", "-Tbss", "-Tdata", "-Ttext")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// input notes a driver's own input file.
func (c *command) input(path string) {
	if _, err := os.Stat(path); err != nil && c.missing == "" {
		c.missing = path
	}
}

// readDriverArgs reads a compiler driver's arguments. The driver expands
// its own response files (with its own quoting), then hands the linker
// its inputs and linker options in command line order: -Wl,A,B and
// -Xlinker A pass A on, an input file passes itself, -r and -T SCRIPT
// pass themselves. The linker's arguments so gathered are read as the
// linker reads them, linker-level response files (-Wl,@FILE) included.
func readDriverArgs(k kind, args []string) command {
	q := gnuQuoting
	if k == clangDriver {
		q = llvmQuoting
	}
	c := command{dashdash: slices.Index(args, "--")}
	args = expandResponseFiles(args, q)
	var ld []string
	driverOut := ""
	useLLD := k == clangDriver
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--":
			// clang: the rest are inputs. One named like an option is
			// not read as one.
			for _, in := range args[i+1:] {
				c.input(in)
				if !strings.HasPrefix(in, "-") {
					ld = append(ld, in)
				}
			}
			i = len(args)
		case a == "-" || !strings.HasPrefix(a, "-"):
			if a != "-" {
				c.input(a)
				ld = append(ld, a)
			}
		case strings.HasPrefix(a, "-Wl,"):
			for _, o := range strings.Split(a[len("-Wl,"):], ",") {
				if o != "" {
					ld = append(ld, o)
				}
			}
		case a == "-Xlinker":
			ld = append(ld, next())
		case a == "-r":
			ld = append(ld, a)
		case a == "-o" || a == "--output":
			driverOut = next()
		case strings.HasPrefix(a, "--output="):
			driverOut = a[len("--output="):]
		case strings.HasPrefix(a, "-o"):
			driverOut = a[2:]
		case strings.HasPrefix(a, "--target="):
			c.target = a[len("--target="):]
		case a == "-target":
			c.target = next()
		case strings.HasPrefix(a, "-fuse-ld="):
			useLLD = strings.Contains(filepath.Base(a[len("-fuse-ld="):]), "lld")
		case driverLinkerOptions[a]:
			ld = append(ld, a, next())
		case driverValueOptions[a]:
			next()
		}
	}
	// A linker-level response file (-Wl,@FILE) is expanded with the
	// quoting of the linker the driver runs.
	lq := gnuQuoting
	if useLLD {
		lq = llvmQuoting
	}
	l := readLinkerArgs(expandResponseFiles(ld, lq))
	c.inputs, c.partial = l.inputs, l.partial
	switch {
	case l.output == "" && driverOut == "":
		c.outputs = []string{"a.out"}
	case l.output == "":
		c.outputs = []string{driverOut}
	case k == gccDriver && driverOut == "", driverOut == l.output:
		// gcc passes no -o of its own when given none.
		c.outputs = []string{l.output}
	case driverOut == "":
		c.outputs = []string{l.output, "a.out"}
	default:
		c.outputs = []string{l.output, driverOut}
	}
	return c
}
