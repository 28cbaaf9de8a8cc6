// Command elfpatch binds the canonical-ABI arena import of WebAssembly
// components compiled for microcontrollers (__cabi_arena_realloc, spelled
// cabi-arena-realloc after a fused build) to a small bounded arena allocator
// it writes into the linked image.
//
//	elfpatch [--arena-size SIZE] [-o OUT] [--import NAME]... [--dry-run] [--json] [--allow-undefined] FILE
//	elfpatch inspect [--json] FILE
//	elfpatch verify [--json] FILE
//	elfpatch reserve-object [--arena-size SIZE] --like OBJ -o OUT
//	elfpatch link -- LINK-COMMAND...
//
// Exit status: 0 done, 1 refused or failed (the input is untouched), 2 usage.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a command line elfpatch cannot act on: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitStatus ends the program with a status and nothing more to say.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (status int) {
	defer func() {
		// Nothing may reach a user as a panic and a stack trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "elfpatch: internal error: %v\n", r)
			status = 1
		}
	}()
	app := newApp(stdin, stdout, stderr)
	err := app.Run(reorder(args))
	var ue *usageError
	var es exitStatus
	switch {
	case err == nil:
		return 0
	case errors.As(err, &es):
		return int(es)
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "elfpatch: %s\nRun 'elfpatch --help' for usage.\n", ue.msg)
		return 2
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "elfpatch: %s\n", line)
	}
	return 1
}

// valueFlags take a value as the next argument.
var valueFlags = map[string]bool{"--arena-size": true, "-o": true, "--output": true, "--import": true, "--variant": true,
	"--arena-object": true, "--pointer-base": true, "--pointer-limit": true}

// reorder moves the patch command's flags in front of FILE, so that
// "elfpatch app.elf --arena-size 16K" works as well as the documented
// order. Subcommands parse their own arguments.
func reorder(args []string) []string {
	if len(args) < 2 {
		return args
	}
	switch args[1] {
	case "inspect", "verify", "reserve-object", "link", "help":
		return args
	}
	var flags, files []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			files = append(files, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if valueFlags[a] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			files = append(files, a)
		}
	}
	out := append([]string{args[0]}, flags...)
	if len(files) > 0 {
		out = append(out, "--")
		out = append(out, files...)
	}
	return out
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	importFlag := &cli.StringSliceFlag{Name: "import", Usage: "also bind the spelling `NAME` (repeatable)"}
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"}
	variantFlag := &cli.StringFlag{Name: "variant", Usage: "use the allocator `NAME` instead of choosing from the image's build attributes"}
	arenaObjectFlag := &cli.StringFlag{Name: "arena-object", Usage: "inject the relocatable allocator object `FILE` instead of a built-in one"}
	pointerBaseFlag := &cli.StringFlag{Name: "pointer-base", Usage: "pointers are offsets from the linear memory at `SYM` (a symbol or an address)"}
	pointerLimitFlag := &cli.StringFlag{Name: "pointer-limit", Usage: "the linear memory's `SIZE`, when its base symbol's size does not say"}
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Fprintf(c.App.Writer, "elfpatch %s\nallocators:\n", version)
		for _, v := range arenablob.Variants() {
			fmt.Fprintf(c.App.Writer, "  %-12s sha256:%s  %s\n", v.Name, v.SHA256, v.Suits)
		}
		fmt.Fprintf(c.App.Writer, "pointer-base shims:\n")
		for _, s := range arenablob.Shims() {
			fmt.Fprintf(c.App.Writer, "  %-12s sha256:%s  in front of %s\n", s.Name, s.SHA256, strings.Join(s.Serves, ", "))
		}
	}
	app := &cli.App{
		Name:      "elfpatch",
		Usage:     "bind the canonical-ABI arena import of a firmware image to a bounded arena allocator",
		UsageText: "elfpatch [--arena-size SIZE] [-o OUT] [--import NAME]... [--arena-object FILE] [--pointer-base SYM|ADDR [--pointer-limit SIZE]] [--dry-run] [--json] [--allow-undefined] FILE\n   elfpatch inspect [--json] FILE\n   elfpatch verify [--json] FILE\n   elfpatch reserve-object [--arena-size SIZE] --like OBJ -o OUT\n   elfpatch link -- LINK-COMMAND...",
		Description: "Binds every use of __cabi_arena_realloc and cabi-arena-realloc in FILE to a small bump allocator over the\n" +
			"image's .arena region, written into the code slot a wrapped link reserved. Patches FILE in place, or writes OUT.\n" +
			"SIZE is bytes (16384), hex (0x4000) or K/KiB/M/MiB (16K). Exit status: 0 done, 1 refused (FILE untouched), 2 usage.",
		Version:                   version,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		Reader:                    stdin,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "arena-size", Usage: "size the arena to `SIZE` (default: keep the linked size)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the patched image to `OUT` instead of FILE"},
			importFlag,
			&cli.BoolFlag{Name: "dry-run", Usage: "print what the patch would do and write nothing"},
			jsonFlag,
			&cli.BoolFlag{Name: "allow-undefined", Usage: "leave other undefined symbols undefined instead of refusing"},
			variantFlag,
			arenaObjectFlag,
			pointerBaseFlag,
			pointerLimitFlag,
		},
		Action: patchCommand,
		Commands: []*cli.Command{
			{
				Name:      "inspect",
				Usage:     "report the imports, their sites, the slot, the arena and what a patch would do",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{jsonFlag, importFlag, variantFlag, arenaObjectFlag, pointerBaseFlag, pointerLimitFlag},
				Action:    inspectCommand,
			},
			{
				Name:      "verify",
				Usage:     "check that every import site of a patched image reaches the allocator (exit 0 or 1)",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{jsonFlag, importFlag, variantFlag, arenaObjectFlag, pointerBaseFlag, pointerLimitFlag},
				Action:    verifyCommand,
			},
			{
				Name:      "reserve-object",
				Usage:     "write the object a hand-written link needs beside linkerscripts/arena.ld",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "arena-size", Value: "16K", Usage: "reserve `SIZE` bytes for the arena"},
					&cli.StringFlag{Name: "slot-size", Usage: "reserve `SIZE` bytes of code for the allocator and its veneers (default: 256 on ARM, 384 on RISC-V and AArch64, 320 on x86-64)"},
					&cli.StringFlag{Name: "like", Usage: "match the machine and ABI flags of the object `OBJ`"},
					&cli.StringFlag{Name: "machine", Usage: "target machine when no --like object is given: arm, riscv32, aarch64, x86_64"},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the object to `OUT`", Required: true},
				},
				Action: reserveCommand,
			},
			{
				Name:            "link",
				Usage:           "run a link command with what elfpatch needs, then patch its output (see linkerscripts/elfpatch-ld)",
				ArgsUsage:       "-- LINK-COMMAND...",
				SkipFlagParsing: true,
				Action:          linkCommand,
			},
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return &usageError{err.Error()}
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = app.OnUsageError
	}
	return app
}

// oneFile returns the single FILE argument.
func oneFile(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", usagef("no FILE given")
	}
	return "", usagef("one FILE expected, got %d arguments: %s", c.NArg(), strings.Join(c.Args().Slice(), " "))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
