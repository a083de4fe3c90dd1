// Package cli is what metagon's command-line tools share: the main
// function (interrupts, logging, one-line errors and exit codes), flag
// parsing that reports usage errors the same way, and the checks on output
// paths that run before any work starts (see outputs.go).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/metagon/metagon/internal/progress"
	"github.com/sirupsen/logrus"
)

// ErrUsage marks a command line that could not be parsed; Main exits 2 on
// it.
var ErrUsage = errors.New("usage")

// errHelp marks -h: Main exits 0 after the usage has been printed.
var errHelp = fmt.Errorf("%w: help requested", ErrUsage)

// RunFunc is a whole command: it parses args and does the work, writing
// results to stdout and progress to stderr. ctx is cancelled on SIGINT
// (Ctrl-C) and SIGTERM (sent by schedulers, `kill` and `docker stop`), so
// long loops can stop between steps and save their state.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error

// Main runs a command and exits: 0 on success and after -h, 2 on a usage
// error and 1 on any other error, each printed as one line "name: error"
// on stderr. Log lines and the progress bar share stderr through a
// progress.Terminal, so a log line never lands on the end of a bar.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	term := progress.NewTerminal(os.Stderr)
	log := logrus.New()
	log.SetOutput(term)
	log.SetFormatter(&logrus.TextFormatter{ForceColors: term.IsTerminal()})
	err := run(ctx, os.Args[1:], os.Stdout, term, log)
	stop()
	os.Exit(exitCode(name, err, term))
}

// Status is the exit status Main gives err: 0 for none (or -h), 2 for a
// usage error, 1 for anything else.
func Status(err error) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	return 1
}

// exitCode prints err as one line and returns its exit status.
func exitCode(name string, err error, stderr io.Writer) int {
	switch code := Status(err); code {
	case 0:
		return 0
	case 2:
		fmt.Fprintf(stderr, "%s: %v (see %s -h)\n", name, usageMessage(err), name)
		return 2
	default:
		fmt.Fprintln(stderr, name+":", err)
		return code
	}
}

// usageMessage strips the ErrUsage marker from a usage error.
func usageMessage(err error) string {
	var u usageError
	if errors.As(err, &u) {
		return u.msg
	}
	return err.Error()
}

// usageError is a command-line error; it wraps ErrUsage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (e usageError) Unwrap() error { return ErrUsage }

// Usagef returns a usage error (exit status 2) with the given message.
func Usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// AsUsage marks err, a bad flag value found after parsing, as a usage
// error; nil stays nil.
func AsUsage(err error) error {
	if err == nil || errors.Is(err, ErrUsage) {
		return err
	}
	return usageError{err.Error()}
}

// Parse parses args with fs, which only takes flags. -h prints fs's usage
// and returns an error for which Main exits 0; a bad flag or value, or a
// stray argument, returns a usage error of one line (the full usage is not
// printed: it would bury the line that says what was wrong).
func Parse(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return errHelp
	case err != nil:
		return Usagef("%v", err)
	case fs.NArg() > 0:
		return Usagef("unexpected argument %q (flags only)", fs.Arg(0))
	}
	return nil
}

// Set returns the names of the flags set on the command line, so that a
// command can tell an explicit value from a default.
func Set(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// IntList registers a flag of comma-separated positive integers, e.g.
// "-hidden 40,40", that sets *dst (see ParseIntList).
func IntList(fs *flag.FlagSet, name, usage string, dst *[]int) {
	fs.Func(name, usage, func(v string) error {
		out, err := ParseIntList(v)
		*dst = out
		return err
	})
}

// ParseIntList reads comma-separated positive integers, e.g. "40,40".
func ParseIntList(v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive widths separated by commas, e.g. 40,40", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// FormatIntList writes xs as ParseIntList reads them.
func FormatIntList(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
